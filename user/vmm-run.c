// SPDX-License-Identifier: GPL-2.0
/*
 * vmm-run - boot a Linux kernel in a virtual machine on /dev/vmm (or
 * /dev/kvm): Documentation/vmm-run.rst.
 *
 *   vmm-run -m 3600 -c 2 -kernel bzImage -initrd initrd \
 *           -append "console=ttyS0" -disk a.vhd
 *
 * Everything the command line names is read and checked before a machine
 * is built, so that a mistake costs one line and no side effect.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "vmm-run.h"
#include "boot/boot.h"
#include "block/vdisk.h"
#include "devices/devices.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define __printf(a, b)		__attribute__((format(printf, a, b)))
#define __noreturn		__attribute__((noreturn))
#define MiB			(1ULL << 20)
#define MEM_DEFAULT		(512 * MiB)
#define MEM_MIN			(32 * MiB)
#define MEM_MAX			(1ULL << 40)
#define CPUS_MAX		254	/* APIC IDs 0..N-1, the IOAPIC's is N */
#define MAX_DISKS		16
#define DEFAULT_APPEND		"console=ttyS0"

static const char usage_text[] =
"usage: vmm-run [options] -kernel BZIMAGE\n"
"\n"
"Boots a Linux kernel in a virtual machine: RAM, vCPUs, a 16550A console\n"
"on the terminal, ACPI power management and virtio disks.\n"
"\n"
"  -m, --memory SIZE     guest RAM; MiB unless a K, M, G or T suffix\n"
"                        follows (default 512M)\n"
"  -c, --cpus N          vCPUs (default 1)\n"
"  -kernel, --kernel F   a bzImage with a 64-bit entry (boot protocol 2.12+)\n"
"  -initrd, --initrd F   an initramfs the kernel unpacks\n"
"  -append, --append S   the kernel command line (default \"" DEFAULT_APPEND "\")\n"
"  -disk, --disk F[,ro]  a raw or VHD image as a virtio-blk disk; repeat\n"
"                        for more (vda, vdb, ...); ,ro opens it read-only\n"
"  --accel vmm|kvm       /dev/vmm (default) or /dev/kvm\n"
"  --no-reboot           exit when the guest resets instead of booting again\n"
"  -v, --verbose         say more: unclaimed ports, exit counts, timing\n"
"  -h, --help            this text\n"
"\n"
"Console: the guest's ttyS0 is this terminal, in raw mode; Ctrl-A x quits,\n"
"Ctrl-A h lists the other keys.\n"
"\n"
"Exit status: 0 the guest powered off (or reset with --no-reboot),\n"
"1 an error or a guest crash (the registers are printed), 2 a bad command\n"
"line or file, 3 stopped by SIGINT, SIGTERM, SIGHUP or Ctrl-A x.\n";

static struct termios saved_tty;
static int tty_fd = -1;

static void tty_restore(void)
{
	if (tty_fd >= 0)
		tcsetattr(tty_fd, TCSAFLUSH, &saved_tty);
	tty_fd = -1;
}

/* A crash must not leave the user's terminal in raw mode. */
static void crash_handler(int sig)
{
	if (tty_fd >= 0)
		tcsetattr(tty_fd, TCSANOW, &saved_tty);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Raw input (keys go to the guest, Ctrl-C included), but output keeps
 * its newline translation so that vmm-run's own lines start at column 0.
 */
static void tty_raw(int fd)
{
	static const int crash[] = {
		SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGQUIT,
	};
	struct termios t;
	unsigned int i;

	if (tcgetattr(fd, &saved_tty) < 0)
		return;
	t = saved_tty;
	cfmakeraw(&t);
	t.c_oflag |= OPOST | ONLCR;
	if (tcsetattr(fd, TCSAFLUSH, &t) < 0)
		return;
	tty_fd = fd;
	atexit(tty_restore);
	for (i = 0; i < ARRAY_SIZE(crash); i++)
		signal(crash[i], crash_handler);
}

static void __noreturn __printf(1, 2) usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("vmm-run: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (vmm-run --help)\n", stderr);
	exit(VMM_RUN_EXIT_USAGE);
}

/* A size in MiB, or with a K/M/G/T suffix (an optional "iB" or "B"). */
static int parse_mem(const char *s, uint64_t *bytes)
{
	unsigned long long v, unit = MiB;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	if (*end) {
		const char *units = "KMGT", *u = strchr(units, *end & ~0x20);

		if (!u)
			return -1;
		unit = 1ULL << (10 * (u - units + 1));
		end++;
	}
	if (*end == 'i')
		end++;
	if (*end == 'B')
		end++;
	if (*end || (v && unit > ~0ULL / v))
		return -1;
	*bytes = v * unit;
	return 0;
}

static uint8_t *read_file(const char *opt, const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "vmm-run: %s %s: %s\n", opt, path,
			strerror(errno));
		exit(VMM_RUN_EXIT_USAGE);
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "vmm-run: %s %s: not a regular file\n", opt,
			path);
		exit(VMM_RUN_EXIT_USAGE);
	}
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf) {
		fprintf(stderr, "vmm-run: %s %s: out of memory\n", opt, path);
		exit(VMM_RUN_EXIT_ERROR);
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, st.st_size - got);
		if (n <= 0) {
			fprintf(stderr, "vmm-run: %s %s: %s\n", opt, path,
				n ? strerror(errno) : "shorter than its size");
			exit(VMM_RUN_EXIT_USAGE);
		}
		got += n;
	}
	close(fd);
	*len = got;
	return buf;
}

/* Console input only from what epoll can watch: a tty, pipe or socket. */
static int console_input(void)
{
	struct stat st;

	if (fstat(STDIN_FILENO, &st) < 0)
		return -1;
	if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
		return STDIN_FILENO;
	if (S_ISCHR(st.st_mode) && isatty(STDIN_FILENO))
		return STDIN_FILENO;
	return -1;		/* /dev/null, a regular file: no input */
}

struct args {
	struct vmm_run_opts o;
	const char *kernel_path, *initrd_path;
	const char *disk_paths[MAX_DISKS];
	bool disk_ro[MAX_DISKS];
	bool no_reboot;
};

/* -opt, --opt, --opt=value: one table for the single and double dash. */
enum opt_id {
	OPT_MEM, OPT_CPUS, OPT_KERNEL, OPT_INITRD, OPT_APPEND, OPT_DISK,
	OPT_ACCEL, OPT_NO_REBOOT, OPT_VERBOSE, OPT_HELP,
};

static const struct {
	const char *name;
	enum opt_id id;
	bool arg;
} options[] = {
	{ "m", OPT_MEM, true }, { "memory", OPT_MEM, true },
	{ "c", OPT_CPUS, true }, { "cpus", OPT_CPUS, true },
	{ "smp", OPT_CPUS, true },
	{ "kernel", OPT_KERNEL, true }, { "initrd", OPT_INITRD, true },
	{ "append", OPT_APPEND, true },
	{ "disk", OPT_DISK, true }, { "drive", OPT_DISK, true },
	{ "accel", OPT_ACCEL, true },
	{ "no-reboot", OPT_NO_REBOOT, false },
	{ "v", OPT_VERBOSE, false }, { "verbose", OPT_VERBOSE, false },
	{ "h", OPT_HELP, false }, { "help", OPT_HELP, false },
};

static void parse_disk(struct args *a, const char *val)
{
	unsigned int n = a->o.nr_disks;
	char *path, *comma;

	if (n == MAX_DISKS)
		usage_error("-disk: at most %d disks", MAX_DISKS);
	path = strdup(val);
	comma = strrchr(path, ',');
	if (comma && !strcmp(comma, ",ro")) {
		*comma = '\0';
		a->disk_ro[n] = true;
	} else if (comma && !strcmp(comma, ",rw")) {
		*comma = '\0';
	}
	if (!*path)
		usage_error("-disk: no file named");
	a->disk_paths[n] = path;
	a->o.nr_disks++;
}

static void parse_option(struct args *a, enum opt_id id, const char *flag,
			 const char *val)
{
	char *end;
	unsigned long n;

	switch (id) {
	case OPT_MEM:
		if (parse_mem(val, &a->o.mem) < 0)
			usage_error("%s %s: not a size (e.g. 512, 3600M, 4G)",
				    flag, val);
		if (a->o.mem < MEM_MIN || a->o.mem > MEM_MAX ||
		    a->o.mem % 4096)
			usage_error("%s %s: must be 32 MiB to 1 TiB, whole 4 KiB pages",
				    flag, val);
		break;
	case OPT_CPUS:
		errno = 0;
		n = strtoul(val, &end, 10);
		if (errno || *end || end == val || n < 1 || n > CPUS_MAX)
			usage_error("%s %s: vCPUs are 1 to %d", flag, val,
				    CPUS_MAX);
		a->o.cpus = n;
		break;
	case OPT_KERNEL:
		a->kernel_path = val;
		break;
	case OPT_INITRD:
		a->initrd_path = val;
		break;
	case OPT_APPEND:
		a->o.cmdline = val;
		break;
	case OPT_DISK:
		parse_disk(a, val);
		break;
	case OPT_ACCEL:
		if (!strcmp(val, "vmm"))
			a->o.accel = &accel_vmm_ops;
		else if (!strcmp(val, "kvm"))
			a->o.accel = &accel_kvm_ops;
		else
			usage_error("%s %s: vmm or kvm", flag, val);
		break;
	case OPT_NO_REBOOT:
		a->no_reboot = true;
		break;
	case OPT_VERBOSE:
		a->o.verbose = true;
		break;
	case OPT_HELP:
		fputs(usage_text, stdout);
		exit(0);
	}
}

static void parse_args(struct args *a, int argc, char **argv)
{
	int i;
	unsigned int k;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *name, *val = NULL, *eq;
		size_t len;

		if (arg[0] != '-' || !arg[1])
			usage_error("%s: unexpected argument (options start with -)",
				    arg);
		name = arg + 1 + (arg[1] == '-');
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		for (k = 0; k < ARRAY_SIZE(options); k++)
			if (strlen(options[k].name) == len &&
			    !strncmp(options[k].name, name, len))
				break;
		if (k == ARRAY_SIZE(options))
			usage_error("%s: unknown option", arg);
		if (options[k].arg) {
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else
				usage_error("%s needs a value", arg);
		} else if (eq) {
			usage_error("%s takes no value", arg);
		}
		parse_option(a, options[k].id, arg, val);
	}
	if (!a->kernel_path)
		usage_error("no kernel: -kernel BZIMAGE is required");
}

/*
 * Opens the -disk images that no device holds: all of them before the
 * first boot, again after a reset (virtio-blk closes its disk when the
 * machine stops).  Returns 0 or -1 after one line naming the file.
 */
static int open_disks(struct args *a)
{
	struct vmm_run_opts *o = &a->o;
	unsigned int i;

	for (i = 0; i < o->nr_disks; i++) {
		struct vdisk_error err = { "" };
		int ret;

		if (o->disks[i])
			continue;
		ret = vdisk_open(&o->disks[i], a->disk_paths[i],
				 VDISK_FMT_AUTO,
				 a->disk_ro[i] ? VDISK_O_RDONLY : 0, &err);
		if (ret < 0) {
			o->disks[i] = NULL;
			/* vdisk's message names the file already. */
			if (err.msg[0])
				fprintf(stderr, "vmm-run: -disk: %s\n", err.msg);
			else
				fprintf(stderr, "vmm-run: -disk %s: %s\n",
					a->disk_paths[i], strerror(-ret));
			return -1;
		}
	}
	return 0;
}

/* Reads and checks the files; opens the disks.  Exits on a problem. */
static void load_inputs(struct args *a)
{
	struct vmm_run_opts *o = &a->o;
	char why[160];

	o->kernel = read_file("-kernel", a->kernel_path, &o->kernel_size);
	if (bzimage_check(o->kernel, o->kernel_size, why, sizeof(why)) < 0) {
		fprintf(stderr, "vmm-run: -kernel %s: %s\n", a->kernel_path,
			why);
		exit(VMM_RUN_EXIT_USAGE);
	}
	if (a->initrd_path)
		o->initrd = read_file("-initrd", a->initrd_path,
				      &o->initrd_size);
	o->disks = calloc(MAX_DISKS, sizeof(*o->disks));
	o->disk_names = a->disk_paths;
	if (open_disks(a) < 0)
		exit(VMM_RUN_EXIT_USAGE);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct args a = {
		.o = {
			.accel = &accel_vmm_ops,
			.mem = MEM_DEFAULT,
			.cpus = 1,
			.cmdline = DEFAULT_APPEND,
			.out_fd = STDOUT_FILENO,
		},
	};
	enum machine_stop_reason why;
	int status = VMM_RUN_EXIT_ERROR;
	struct machine *m;
	unsigned int i;
	sigset_t sigs;
	double t0;

	parse_args(&a, argc, argv);
	load_inputs(&a);

	/*
	 * Blocked in every thread: the I/O thread takes them from its
	 * signalfd, the vCPU threads unblock only their kick signal.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	a.o.in_fd = console_input();
	if (a.o.in_fd >= 0 && isatty(a.o.in_fd))
		tty_raw(a.o.in_fd);

	for (;;) {
		t0 = now_s();
		if (open_disks(&a) < 0)
			break;
		m = machine_create(&a.o);
		if (!m)
			break;
		why = machine_run(m);
		if (a.o.verbose)
			machine_print_stats(m, now_s() - t0);
		machine_destroy(m);
		if (why == MACHINE_RESET && !a.no_reboot) {
			if (a.o.verbose)
				fprintf(stderr, "vmm-run: the guest reset: booting again\n");
			continue;
		}
		status = why == MACHINE_POWEROFF || why == MACHINE_RESET ?
			 VMM_RUN_EXIT_OK :
			 why == MACHINE_SIGNAL ? VMM_RUN_EXIT_STOPPED :
			 VMM_RUN_EXIT_ERROR;
		break;
	}
	/* Disks no device took (a machine that failed to build). */
	for (i = 0; i < a.o.nr_disks; i++) {
		int ret;

		if (!a.o.disks[i])
			continue;
		ret = vdisk_close(a.o.disks[i]);
		if (ret < 0) {
			fprintf(stderr, "vmm-run: -disk %s: closing: %s\n",
				a.o.disk_names[i], strerror(-ret));
			status = VMM_RUN_EXIT_ERROR;
		}
	}
	tty_restore();
	return status;
}
