// SPDX-License-Identifier: GPL-2.0
//
// 8250 UART and CMOS RTC emulation.

#include "serial.hh"

#include <ctime>
#include <utility>

namespace vbusvm
{

namespace
{

enum Reg : unsigned {
	kData = 0, // RBR/THR, DLL with DLAB
	kIer = 1,  // DLM with DLAB
	kIir = 2,  // FCR on write
	kLcr = 3,
	kMcr = 4,
	kLsr = 5,
	kMsr = 6,
	kScr = 7,
};

constexpr std::uint8_t kIerRdi = 0x01;
constexpr std::uint8_t kIerThri = 0x02;
constexpr std::uint8_t kIerMask = 0x0f;
constexpr std::uint8_t kIirNoInt = 0x01;
constexpr std::uint8_t kIirThri = 0x02;
constexpr std::uint8_t kIirRdi = 0x04;
constexpr std::uint8_t kIirFifo = 0xc0;
constexpr std::uint8_t kFcrEnable = 0x01;
constexpr std::uint8_t kFcrClearRx = 0x02;
constexpr std::uint8_t kLcrDlab = 0x80;
constexpr std::uint8_t kMcrDtr = 0x01;
constexpr std::uint8_t kMcrRts = 0x02;
constexpr std::uint8_t kMcrOut1 = 0x04;
constexpr std::uint8_t kMcrOut2 = 0x08;
constexpr std::uint8_t kMcrLoop = 0x10;
constexpr std::uint8_t kMcrMask = 0x1f;
constexpr std::uint8_t kLsrDr = 0x01;
constexpr std::uint8_t kLsrThre = 0x20;
constexpr std::uint8_t kLsrTemt = 0x40;
constexpr std::uint8_t kMsrCts = 0x10;
constexpr std::uint8_t kMsrDsr = 0x20;
constexpr std::uint8_t kMsrRi = 0x40;
constexpr std::uint8_t kMsrDcd = 0x80;
constexpr std::size_t kRxMax = 4096;

} // namespace

Uart8250::Uart8250(Output output, Irq irq) : output_(std::move(output)), irq_(std::move(irq)) {}

bool Uart8250::loopback() const
{
	return (mcr_ & kMcrLoop) != 0;
}

std::uint8_t Uart8250::line_status() const
{
	// The transmitter is always empty: bytes leave at once.
	return static_cast<std::uint8_t>(kLsrThre | kLsrTemt | (rx_.empty() ? 0 : kLsrDr));
}

std::uint8_t Uart8250::modem_status() const
{
	if (loopback()) {
		std::uint8_t msr = 0;
		msr |= (mcr_ & kMcrRts) != 0 ? kMsrCts : 0;
		msr |= (mcr_ & kMcrDtr) != 0 ? kMsrDsr : 0;
		msr |= (mcr_ & kMcrOut1) != 0 ? kMsrRi : 0;
		msr |= (mcr_ & kMcrOut2) != 0 ? kMsrDcd : 0;
		return msr;
	}
	return kMsrDcd | kMsrDsr | kMsrCts;
}

void Uart8250::update()
{
	if ((ier_ & kIerRdi) != 0 && !rx_.empty()) {
		iir_ = kIirRdi;
	} else if ((ier_ & kIerThri) != 0 && thr_pending_) {
		iir_ = kIirThri;
	} else {
		iir_ = kIirNoInt;
	}
	const bool level = iir_ != kIirNoInt;
	if (level != irq_level_) {
		irq_level_ = level;
		irq_(level);
	}
}

std::uint8_t Uart8250::read(unsigned reg)
{
	const std::scoped_lock lock(mutex_);
	const bool dlab = (lcr_ & kLcrDlab) != 0;
	switch (reg) {
	case kData: {
		if (dlab) {
			return dll_;
		}
		std::uint8_t byte = 0;
		if (!rx_.empty()) {
			byte = rx_.front();
			rx_.pop_front();
		}
		update();
		return byte;
	}
	case kIer:
		return dlab ? dlm_ : ier_;
	case kIir: {
		const std::uint8_t iir = iir_;
		if (iir == kIirThri) {
			thr_pending_ = false;
			update();
		}
		return static_cast<std::uint8_t>(iir | ((fcr_ & kFcrEnable) != 0 ? kIirFifo : 0));
	}
	case kLcr:
		return lcr_;
	case kMcr:
		return mcr_;
	case kLsr:
		return line_status();
	case kMsr:
		return modem_status();
	case kScr:
		return scr_;
	default:
		return 0xff;
	}
}

void Uart8250::write(unsigned reg, std::uint8_t value)
{
	const std::scoped_lock lock(mutex_);
	const bool dlab = (lcr_ & kLcrDlab) != 0;
	switch (reg) {
	case kData:
		if (dlab) {
			dll_ = value;
			return;
		}
		if (loopback()) {
			if (rx_.size() < kRxMax) {
				rx_.push_back(value);
			}
		} else {
			output_(value);
		}
		thr_pending_ = true; // sent at once: empty again
		update();
		return;
	case kIer: {
		if (dlab) {
			dlm_ = value;
			return;
		}
		const auto next = static_cast<std::uint8_t>(value & kIerMask);
		if ((next & kIerThri) != 0 && (ier_ & kIerThri) == 0) {
			thr_pending_ = true; // the transmitter is empty
		} else if ((next & kIerThri) == 0) {
			thr_pending_ = false;
		}
		ier_ = next;
		update();
		return;
	}
	case kIir:
		fcr_ = value;
		if ((value & kFcrClearRx) != 0) {
			rx_.clear();
		}
		update();
		return;
	case kLcr:
		lcr_ = value;
		return;
	case kMcr:
		mcr_ = static_cast<std::uint8_t>(value & kMcrMask);
		return;
	case kScr:
		scr_ = value;
		return;
	default:
		return; // LSR and MSR are read-only
	}
}

void Uart8250::receive(std::string_view bytes)
{
	const std::scoped_lock lock(mutex_);
	for (const char c : bytes) {
		if (rx_.size() >= kRxMax) {
			break;
		}
		rx_.push_back(static_cast<std::uint8_t>(c));
	}
	update();
}

std::size_t Uart8250::pending() const
{
	const std::scoped_lock lock(mutex_);
	return rx_.size();
}

namespace
{

enum CmosReg : std::uint8_t {
	kSeconds = 0x00,
	kMinutes = 0x02,
	kHours = 0x04,
	kWeekday = 0x06,
	kDay = 0x07,
	kMonth = 0x08,
	kYear = 0x09,
	kStatusA = 0x0a,
	kStatusB = 0x0b,
	kStatusC = 0x0c,
	kStatusD = 0x0d,
	kCentury = 0x32,
};

constexpr std::uint8_t kStatusADefault = 0x26; // 32.768 kHz, 1024 Hz, no update in progress
constexpr std::uint8_t kStatusB24h = 0x02;     // 24-hour, BCD
constexpr std::uint8_t kStatusDValid = 0x80;   // the battery is good
constexpr std::uint8_t kIndexMask = 0x7f;      // bit 7 masks NMIs

std::uint8_t bcd(int v)
{
	return static_cast<std::uint8_t>(((v / 10) << 4) | (v % 10));
}

} // namespace

std::uint8_t Cmos::read(std::uint16_t port)
{
	const std::scoped_lock lock(mutex_);
	if (port == kIndexPort) {
		return 0xff;
	}
	const std::time_t now = std::time(nullptr);
	std::tm tm{};
	gmtime_r(&now, &tm);
	switch (index_) {
	case kSeconds:
		return bcd(tm.tm_sec);
	case kMinutes:
		return bcd(tm.tm_min);
	case kHours:
		return bcd(tm.tm_hour);
	case kWeekday:
		return bcd(tm.tm_wday + 1);
	case kDay:
		return bcd(tm.tm_mday);
	case kMonth:
		return bcd(tm.tm_mon + 1);
	case kYear:
		return bcd(tm.tm_year % 100);
	case kCentury:
		return bcd(19 + (tm.tm_year / 100));
	case kStatusA:
		return kStatusADefault;
	case kStatusB:
		return kStatusB24h;
	case kStatusC:
		return 0;
	case kStatusD:
		return kStatusDValid;
	default:
		return ram_.at(index_);
	}
}

void Cmos::write(std::uint16_t port, std::uint8_t value)
{
	const std::scoped_lock lock(mutex_);
	if (port == kIndexPort) {
		index_ = value & kIndexMask;
	} else if (index_ > kStatusD) {
		ram_.at(index_) = value;
	}
}

} // namespace vbusvm
