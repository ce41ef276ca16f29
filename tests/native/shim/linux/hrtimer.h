/* SPDX-License-Identifier: GPL-2.0 */
/* Native stand-in: see ../kshim.h. */
#include "../kshim.h"
