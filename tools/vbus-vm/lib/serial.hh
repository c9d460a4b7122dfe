// SPDX-License-Identifier: GPL-2.0
//
// A 16550A UART (COM1 at 0x3f8, IRQ 4), enough for Linux's 8250 driver:
// transmit is immediate, receive has a buffer fed from the host, and the
// interrupt is level-computed from IER, the receive buffer and the
// transmitter-empty condition, as on the real chip.

#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string_view>

namespace vbusvm
{

class Uart8250
{
public:
	static constexpr std::uint16_t kCom1 = 0x3f8;
	static constexpr unsigned kCom1Irq = 4;
	static constexpr unsigned kPorts = 8;

	using Output = std::function<void(std::uint8_t)>;
	using Irq = std::function<void(bool)>;

	// @output gets every transmitted byte, @irq every change of the
	// interrupt line.  Both are called with the UART's lock held.
	Uart8250(Output output, Irq irq);

	// A guest access to register @reg (0-7).
	std::uint8_t read(unsigned reg);
	void write(unsigned reg, std::uint8_t value);
	// Bytes from the host for the guest to read.
	void receive(std::string_view bytes);
	// How many received bytes wait for the guest.
	[[nodiscard]] std::size_t pending() const;

private:
	void update();
	[[nodiscard]] std::uint8_t line_status() const;
	[[nodiscard]] std::uint8_t modem_status() const;
	[[nodiscard]] bool loopback() const;

	mutable std::mutex mutex_;
	Output output_;
	Irq irq_;
	std::deque<std::uint8_t> rx_;
	std::uint8_t ier_ = 0;
	std::uint8_t iir_ = 1;
	std::uint8_t lcr_ = 0;
	std::uint8_t mcr_ = 0;
	std::uint8_t fcr_ = 0;
	std::uint8_t scr_ = 0;
	std::uint8_t dll_ = 0x0c; // 9600 baud
	std::uint8_t dlm_ = 0;
	bool thr_pending_ = false;
	bool irq_level_ = false;
};

// The MC146818 RTC and CMOS RAM (ports 0x70, 0x71): the host's time in
// BCD, 24-hour mode, no interrupts.
class Cmos
{
public:
	static constexpr std::uint16_t kIndexPort = 0x70;
	static constexpr std::uint16_t kDataPort = 0x71;

	std::uint8_t read(std::uint16_t port);
	void write(std::uint16_t port, std::uint8_t value);

private:
	std::mutex mutex_;
	std::uint8_t index_ = 0;
	std::array<std::uint8_t, 128> ram_{};
};

} // namespace vbusvm
