// SPDX-License-Identifier: GPL-2.0
// vbus-vm: the 8250 UART and the CMOS RTC.

#include <gtest/gtest.h>

#include <serial.hh>

#include <string>
#include <vector>

namespace vbusvm
{
namespace
{

enum : unsigned { kData = 0, kIer = 1, kIir = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6, kScr = 7 };

class Uart : public ::testing::Test
{
protected:
	Uart()
	    : uart([this](std::uint8_t b) { out += static_cast<char>(b); },
	           [this](bool level) { irq.push_back(level); })
	{
	}

	std::string out;
	std::vector<bool> irq;
	Uart8250 uart;
};

TEST_F(Uart, TransmitsAtOnce)
{
	EXPECT_EQ(uart.read(kLsr) & 0x60, 0x60); // THRE, TEMT
	for (const char c : std::string("hello\n")) {
		uart.write(kData, static_cast<std::uint8_t>(c));
	}
	EXPECT_EQ(out, "hello\n");
	EXPECT_EQ(uart.read(kLsr) & 0x61, 0x60);
	EXPECT_TRUE(irq.empty()); // no interrupt enabled
}

TEST_F(Uart, ScratchAndDivisorLatch)
{
	uart.write(kScr, 0xa5);
	EXPECT_EQ(uart.read(kScr), 0xa5);
	uart.write(kLcr, 0x83); // DLAB
	uart.write(kData, 0x01);
	uart.write(kIer, 0x00);
	EXPECT_EQ(uart.read(kData), 0x01);
	EXPECT_EQ(uart.read(kIer), 0x00);
	uart.write(kLcr, 0x03);
	EXPECT_EQ(uart.read(kLcr), 0x03);
	EXPECT_TRUE(out.empty()); // divisor writes are not data
	// IER keeps its 4 defined bits: Linux's XScale probe must fail.
	uart.write(kIer, 0xff);
	EXPECT_EQ(uart.read(kIer), 0x0f);
}

TEST_F(Uart, TransmitterEmptyInterrupt)
{
	EXPECT_EQ(uart.read(kIir), 0x01); // none
	uart.write(kIer, 0x02);           // THRI: the transmitter is empty
	ASSERT_EQ(irq, std::vector<bool>{true});
	EXPECT_EQ(uart.read(kIir), 0x02);
	EXPECT_EQ(irq, (std::vector<bool>{true, false})); // reading IIR acknowledged it
	EXPECT_EQ(uart.read(kIir), 0x01);
	uart.write(kData, 'x'); // sent, empty again
	EXPECT_EQ(irq, (std::vector<bool>{true, false, true}));
	uart.write(kIer, 0x00);
	EXPECT_EQ(irq.back(), false);
	EXPECT_EQ(uart.read(kIir), 0x01);
}

TEST_F(Uart, FifoBitsIn16550Mode)
{
	uart.write(kIir, 0x01); // FCR: enable FIFOs
	EXPECT_EQ(uart.read(kIir), 0xc1);
	uart.write(kIir, 0x00);
	EXPECT_EQ(uart.read(kIir), 0x01);
}

TEST_F(Uart, Receive)
{
	uart.receive("ab");
	EXPECT_TRUE(irq.empty()); // receive interrupt off
	EXPECT_EQ(uart.read(kLsr) & 0x01, 0x01);
	uart.write(kIer, 0x01);
	ASSERT_EQ(irq, std::vector<bool>{true});
	EXPECT_EQ(uart.read(kIir), 0x04);
	EXPECT_EQ(uart.read(kData), 'a');
	EXPECT_EQ(uart.pending(), 1U);
	EXPECT_EQ(uart.read(kData), 'b');
	EXPECT_EQ(irq.back(), false);
	EXPECT_EQ(uart.read(kLsr) & 0x01, 0x00);
	EXPECT_EQ(uart.read(kData), 0); // nothing there
	// Received data has priority over the transmitter.
	uart.write(kIer, 0x03);
	uart.receive("c");
	EXPECT_EQ(uart.read(kIir), 0x04);
	uart.write(kIir, 0x02); // FCR: clear the receive FIFO
	EXPECT_EQ(uart.pending(), 0U);
	EXPECT_EQ(uart.read(kIir), 0x02);
}

TEST_F(Uart, Loopback)
{
	uart.write(kMcr, 0x10 | 0x0a);           // loop, RTS, OUT2
	EXPECT_EQ(uart.read(kMsr) & 0xf0, 0x90); // CTS, DCD
	uart.write(kData, 'z');
	EXPECT_TRUE(out.empty());
	EXPECT_EQ(uart.read(kData), 'z');
	uart.write(kMcr, 0x00);
	EXPECT_EQ(uart.read(kMsr) & 0xf0, 0xb0); // the line is up
}

int from_bcd(std::uint8_t v)
{
	return ((v >> 4) * 10) + (v & 0xf);
}

TEST(CmosRtc, TimeAndStatus)
{
	Cmos cmos;
	const auto reg = [&](std::uint8_t r) {
		cmos.write(Cmos::kIndexPort, r);
		return cmos.read(Cmos::kDataPort);
	};
	EXPECT_EQ(reg(0x0a) & 0x80, 0); // no update in progress
	EXPECT_EQ(reg(0x0b), 0x02);     // BCD, 24 hours
	EXPECT_EQ(reg(0x0d), 0x80);     // valid
	EXPECT_LT(from_bcd(reg(0x00)), 61);
	EXPECT_LT(from_bcd(reg(0x04)), 24);
	const int month = from_bcd(reg(0x08));
	EXPECT_GE(month, 1);
	EXPECT_LE(month, 12);
	EXPECT_GE(from_bcd(reg(0x32)), 20); // century

	// NMI-disable bit in the index; CMOS RAM keeps what is written.
	cmos.write(Cmos::kIndexPort, 0x80 | 0x0f);
	cmos.write(Cmos::kDataPort, 0x0a);
	EXPECT_EQ(reg(0x0f), 0x0a);
	cmos.write(Cmos::kIndexPort, 0x0b);
	cmos.write(Cmos::kDataPort, 0x00); // the clock's mode stays
	EXPECT_EQ(reg(0x0b), 0x02);
}

} // namespace
} // namespace vbusvm
