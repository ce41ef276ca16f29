/*
 * SPDX-License-Identifier: GPL-2.0
 *
 * The DSDT of a vmm-run machine, compiled by iasl (Debian's
 * acpica-tools) at build time into build/boot/dsdt.hex, which acpi.c
 * includes.  ASL rather than AML written in C: the resource templates
 * and the _PRT loop read as the ACPI specification writes them, and iasl
 * checks them.  Nothing in it depends on -m or -c (the MADT carries the
 * CPUs), so one compiled table serves every machine.
 *
 * The numbers are user/machine.h's: keep them in agreement.
 */
DefinitionBlock ("", "DSDT", 2, "VMM   ", "VMMDSDT ", 0x00000001)
{
    /*
     * Sleep type for S5 (soft off): PM1a_CNT.SLP_TYP value, PM1b's, and
     * two reserved.  acpi_pm.c powers off on SLP_EN with this type.
     */
    Name (\_S5, Package (0x04) { 0x05, 0x05, Zero, Zero })

    Scope (\_SB)
    {
        Device (PCI0)
        {
            Name (_HID, EisaId ("PNP0A03"))
            Name (_UID, Zero)
            Name (_BBN, Zero)
            Name (_SEG, Zero)

            /*
             * Bus 0 only; the whole 16-bit I/O space less the config
             * ports (legacy devices sit behind the bridge, as on a PC);
             * MACHINE_PCI_MMIO_BASE/SIZE for BARs.
             */
            Name (_CRS, ResourceTemplate ()
            {
                WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
                    0x0000, 0x0000, 0x00FF, 0x0000, 0x0100)
                IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08)
                WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                    0x0000, 0x0000, 0x0CF7, 0x0000, 0x0CF8)
                WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                    0x0000, 0x0D00, 0xFFFF, 0x0000, 0xF300)
                DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed,
                    NonCacheable, ReadWrite,
                    0x00000000, 0xC0000000, 0xDFFFFFFF, 0x00000000, 0x20000000)
            })

            /*
             * INTx routing without link devices: slot S, pin P (0 = INTA
             * here, as _PRT counts) reaches GSI 16 + (S + P) % 4, level,
             * active low (the IOAPIC pins above 15 default to that).
             * Built by a loop: 32 slots x 4 pins written out would be
             * 128 lines of the same thing.
             */
            Method (_PRT, 0, NotSerialized)
            {
                Local0 = Package (0x80) {}
                Local1 = Zero
                While (Local1 < 0x80)
                {
                    Local2 = (Local1 >> 0x02)
                    Local3 = (Local1 & 0x03)
                    Local4 = Package (0x04) { Zero, Zero, Zero, Zero }
                    Local4 [Zero] = ((Local2 << 0x10) | 0xFFFF)
                    Local4 [One] = Local3
                    Local4 [0x03] = (0x10 + ((Local2 + Local3) & 0x03))
                    Local0 [Local1] = Local4
                    Local1++
                }
                Return (Local0)
            }

            /* COM1, the console (serial8250.c). */
            Device (COM1)
            {
                Name (_HID, EisaId ("PNP0501"))
                Name (_UID, One)
                Name (_CRS, ResourceTemplate ()
                {
                    IO (Decode16, 0x03F8, 0x03F8, 0x01, 0x08)
                    IRQNoFlags () {4}
                })
            }

            /* The MC146818 RTC and CMOS (rtc.c). */
            Device (RTC)
            {
                Name (_HID, EisaId ("PNP0B00"))
                Name (_CRS, ResourceTemplate ()
                {
                    IO (Decode16, 0x0070, 0x0070, 0x01, 0x02)
                    IRQNoFlags () {8}
                })
            }
        }
    }
}
