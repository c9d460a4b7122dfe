// SPDX-License-Identifier: GPL-2.0
//
// The IOQ ring, exactly as compiled into the kernel: layout validation,
// wrap-around, full and empty rings, ownership handover through the
// indices, a hostile peer's indices, and a two-thread stress run.

extern "C" {
#include <vbus_ioq.h>
}

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <span>
#include <thread>
#include <vector>

namespace
{

// Shared memory for a ring, cache-line aligned like a page would be.
class RingMemory
{
public:
	explicit RingMemory(std::uint32_t count) : lines_((VBUS_IOQ_SIZE(count) + 63) / 64) {}
	void *data() { return lines_.data(); }
	[[nodiscard]] std::size_t size() const { return lines_.size() * sizeof(Line); }
	vbus_ioq_head *head() { return static_cast<vbus_ioq_head *>(data()); }

private:
	struct alignas(64) Line {
		std::array<unsigned char, 64> bytes;
	};
	std::vector<Line> lines_;
};

class Ioq : public ::testing::Test
{
protected:
	static constexpr std::uint32_t kCount = 8;

	void SetUp() override { Init(0); }
	void Init(std::uint32_t start)
	{
		ASSERT_EQ(vbus_ioq_drv_init(&drv_, mem_.data(), mem_.size(), kCount, start), 0);
		ASSERT_EQ(vbus_ioq_dev_attach(&dev_, mem_.data(), mem_.size()), 0);
	}
	int Post(std::uint64_t cookie)
	{
		const vbus_ioq_buf buf{
		    .cookie = cookie, .addr = cookie * 4096, .len = 1500, .flags = 0};
		return vbus_ioq_drv_post(&drv_, &buf);
	}

	RingMemory mem_{kCount};
	vbus_ioq_driver drv_{};
	vbus_ioq_device dev_{};
	vbus_ioq_buf buf_{};
};

TEST(IoqLayout, InitRejectsBadCountsAndShortMemory)
{
	RingMemory mem(16);
	vbus_ioq_driver drv{};
	EXPECT_EQ(vbus_ioq_drv_init(&drv, mem.data(), mem.size(), 0, 0), -EINVAL);
	EXPECT_EQ(vbus_ioq_drv_init(&drv, mem.data(), mem.size(), 12, 0), -EINVAL);
	EXPECT_EQ(vbus_ioq_drv_init(&drv, mem.data(), VBUS_IOQ_SIZE(16) - 1, 16, 0), -EINVAL);
	EXPECT_EQ(vbus_ioq_drv_init(&drv, mem.data(), sizeof(vbus_ioq_head) - 1, 1, 0), -EINVAL);
	EXPECT_EQ(vbus_ioq_drv_init(&drv, mem.data(), VBUS_IOQ_SIZE(16), 16, 0), 0);
}

TEST(IoqLayout, AttachRejectsWhatADriverCouldForge)
{
	RingMemory mem(16);
	vbus_ioq_driver drv{};
	vbus_ioq_device dev{};
	ASSERT_EQ(vbus_ioq_drv_init(&drv, mem.data(), mem.size(), 16, 0), 0);
	vbus_ioq_head *h = mem.head();

	EXPECT_EQ(vbus_ioq_dev_attach(&dev, mem.data(), VBUS_IOQ_SIZE(16) - 1), -EINVAL)
	    << "ring larger than the region";
	EXPECT_EQ(vbus_ioq_dev_attach(&dev, mem.data(), 16), -EINVAL)
	    << "region smaller than a header";

	h->count = htole32(0x80000000U);
	EXPECT_EQ(vbus_ioq_dev_attach(&dev, mem.data(), mem.size()), -EINVAL) << "huge count";
	h->count = htole32(10);
	EXPECT_EQ(vbus_ioq_dev_attach(&dev, mem.data(), mem.size()), -EINVAL) << "not a power of 2";
	h->count = htole32(16);

	h->magic = htole32(VBUS_IOQ_MAGIC ^ 1);
	EXPECT_EQ(vbus_ioq_dev_attach(&dev, mem.data(), mem.size()), -EINVAL) << "magic";
	h->magic = htole32(VBUS_IOQ_MAGIC);
	h->version = htole32(VBUS_IOQ_VERSION + 1);
	EXPECT_EQ(vbus_ioq_dev_attach(&dev, mem.data(), mem.size()), -EINVAL) << "version";
	h->version = htole32(VBUS_IOQ_VERSION);
	h->drv_signal.magic = 0;
	EXPECT_EQ(vbus_ioq_dev_attach(&dev, mem.data(), mem.size()), -EINVAL) << "signal";
	vbus_shm_signal_init(&h->drv_signal);

	EXPECT_EQ(vbus_ioq_dev_attach(&dev, mem.data(), mem.size()), 0);
}

// A ring starts on a 64-byte boundary: a valid header 8 or 50 bytes
// past one is refused by the device (at 50 a signal's pending word
// would straddle two cache lines), and the driver lays out none there.
TEST(IoqLayout, RingsStartOnACacheLine)
{
	RingMemory mem(32); // room for a ring of 16 and an offset
	RingMemory laid(16);
	vbus_ioq_driver drv{};
	vbus_ioq_device dev{};
	const std::size_t size = VBUS_IOQ_SIZE(16);
	ASSERT_EQ(vbus_ioq_drv_init(&drv, laid.data(), size, 16, 0), 0);
	const std::span<unsigned char> bytes(static_cast<unsigned char *>(mem.data()), mem.size());
	for (const std::size_t off : {std::size_t{8}, std::size_t{50}}) {
		ASSERT_LE(off + size, bytes.size());
		unsigned char *at = bytes.subspan(off).data();
		EXPECT_EQ(vbus_ioq_drv_init(&drv, at, size, 16, 0), -EINVAL) << off;
		std::memcpy(at, laid.data(), size);
		EXPECT_EQ(vbus_ioq_dev_attach(&dev, at, size), -EINVAL) << off;
	}
	EXPECT_EQ(vbus_ioq_dev_attach(&dev, laid.data(), size), 0);
}

TEST_F(Ioq, EmptyRingHasNothingToPopOrReclaim)
{
	EXPECT_EQ(vbus_ioq_dev_pop(&dev_, &buf_), -EAGAIN);
	EXPECT_EQ(vbus_ioq_drv_reclaim(&drv_, &buf_), -EAGAIN);
	EXPECT_EQ(vbus_ioq_dev_complete(&dev_, 0, 0), -EINVAL);
	EXPECT_EQ(vbus_ioq_drv_free(&drv_), kCount);
}

TEST_F(Ioq, DriverCaughtUpUntilACompletionIsPublished)
{
	EXPECT_TRUE(vbus_ioq_drv_caught_up(&drv_)) << "an empty ring";
	ASSERT_EQ(Post(1), 0);
	ASSERT_EQ(Post(2), 0);
	vbus_ioq_drv_publish(&drv_);
	ASSERT_EQ(vbus_ioq_dev_pop(&dev_, &buf_), 0);
	ASSERT_EQ(vbus_ioq_dev_pop(&dev_, &buf_), 0);
	EXPECT_TRUE(vbus_ioq_drv_caught_up(&drv_)) << "posted and popped, nothing completed";
	ASSERT_EQ(vbus_ioq_dev_complete(&dev_, 10, 0), 0);
	ASSERT_EQ(vbus_ioq_dev_complete(&dev_, 20, 0), 0);
	EXPECT_TRUE(vbus_ioq_drv_caught_up(&drv_)) << "completed, not yet published";
	vbus_ioq_dev_publish(&dev_);
	EXPECT_FALSE(vbus_ioq_drv_caught_up(&drv_));
	ASSERT_EQ(vbus_ioq_drv_reclaim(&drv_, &buf_), 0);
	EXPECT_FALSE(vbus_ioq_drv_caught_up(&drv_)) << "one of two taken back";
	ASSERT_EQ(vbus_ioq_drv_reclaim(&drv_, &buf_), 0);
	EXPECT_TRUE(vbus_ioq_drv_caught_up(&drv_));
}

TEST_F(Ioq, PostedButUnpublishedIsInvisible)
{
	ASSERT_EQ(Post(1), 0);
	EXPECT_EQ(vbus_ioq_dev_pop(&dev_, &buf_), -EAGAIN);
	vbus_ioq_drv_publish(&drv_);
	ASSERT_EQ(vbus_ioq_dev_pop(&dev_, &buf_), 0);
	EXPECT_EQ(buf_.cookie, 1U);
	EXPECT_EQ(buf_.addr, 4096U);
	EXPECT_EQ(buf_.len, 1500U);
}

TEST_F(Ioq, PeekShowsTheNextDescriptorAndTakesNothing)
{
	EXPECT_EQ(vbus_ioq_dev_peek(&dev_, 0, &buf_), -EAGAIN);
	ASSERT_EQ(Post(1), 0);
	ASSERT_EQ(Post(2), 0);
	vbus_ioq_drv_publish(&drv_);
	ASSERT_EQ(vbus_ioq_dev_peek(&dev_, 0, &buf_), 0);
	EXPECT_EQ(buf_.cookie, 1U);
	ASSERT_EQ(vbus_ioq_dev_peek(&dev_, 0, &buf_), 0);
	EXPECT_EQ(buf_.cookie, 1U) << "a second peek sees the same descriptor";
	ASSERT_EQ(vbus_ioq_dev_peek(&dev_, 1, &buf_), 0);
	EXPECT_EQ(buf_.cookie, 2U) << "the one after it";
	EXPECT_EQ(vbus_ioq_dev_peek(&dev_, 2, &buf_), -EAGAIN) << "beyond what is posted";
	EXPECT_EQ(vbus_ioq_dev_inflight(&dev_), 0U);
	ASSERT_EQ(vbus_ioq_dev_pop(&dev_, &buf_), 0);
	EXPECT_EQ(buf_.cookie, 1U);
	ASSERT_EQ(vbus_ioq_dev_peek(&dev_, 0, &buf_), 0);
	EXPECT_EQ(buf_.cookie, 2U);
	EXPECT_EQ(vbus_ioq_dev_peek(&dev_, 1, &buf_), -EAGAIN);
	ASSERT_EQ(vbus_ioq_dev_pop(&dev_, &buf_), 0);
	EXPECT_EQ(vbus_ioq_dev_peek(&dev_, 0, &buf_), -EAGAIN);
}

TEST_F(Ioq, FullRingRefusesPostsUntilReclaimed)
{
	for (std::uint32_t i = 0; i < kCount; i++) {
		ASSERT_EQ(Post(i), 0);
	}
	EXPECT_EQ(vbus_ioq_drv_free(&drv_), 0U);
	EXPECT_EQ(Post(99), -ENOSPC);
	vbus_ioq_drv_publish(&drv_);

	// The device owns everything; completing one gives one slot back,
	// but only once the completion is published and reclaimed.
	ASSERT_EQ(vbus_ioq_dev_pop(&dev_, &buf_), 0);
	ASSERT_EQ(vbus_ioq_dev_complete(&dev_, 64, 7), 0);
	EXPECT_EQ(vbus_ioq_drv_reclaim(&drv_, &buf_), -EAGAIN);
	vbus_ioq_dev_publish(&dev_);
	EXPECT_EQ(Post(99), -ENOSPC);
	ASSERT_EQ(vbus_ioq_drv_reclaim(&drv_, &buf_), 0);
	EXPECT_EQ(buf_.cookie, 0U);
	EXPECT_EQ(buf_.len, 64U);
	EXPECT_EQ(buf_.flags, 7U);
	EXPECT_EQ(Post(99), 0);
}

TEST_F(Ioq, CompletionsComeBackInOrderAcrossWrapAround)
{
	Init(0xfffffffaU); // the u32 indices wrap within the test
	std::uint64_t next_post = 0;
	std::uint64_t next_reclaim = 0;
	for (int round = 0; round < 40; round++) {
		while (Post(next_post) == 0) {
			next_post++;
		}
		vbus_ioq_drv_publish(&drv_);
		const int n = round % 5 + 1;
		for (int i = 0; i < n && vbus_ioq_dev_pop(&dev_, &buf_) == 0; i++) {
			ASSERT_EQ(vbus_ioq_dev_complete(&dev_,
			                                static_cast<std::uint32_t>(buf_.cookie), 0),
			          0);
		}
		vbus_ioq_dev_publish(&dev_);
		while (vbus_ioq_drv_reclaim(&drv_, &buf_) == 0) {
			ASSERT_EQ(buf_.cookie, next_reclaim);
			ASSERT_EQ(buf_.len, static_cast<std::uint32_t>(next_reclaim));
			next_reclaim++;
		}
	}
	EXPECT_GT(next_reclaim, 2U * kCount);
	EXPECT_LT(le32toh(mem_.head()->avail_idx), 0xfffffffaU) << "the index wrapped";
}

TEST_F(Ioq, HostileAvailIndexIsRefused)
{
	ASSERT_EQ(Post(1), 0);
	vbus_ioq_drv_publish(&drv_);
	// The driver claims more descriptors than the ring holds.
	mem_.head()->avail_idx = htole32(kCount + 1);
	EXPECT_EQ(vbus_ioq_dev_peek(&dev_, 0, &buf_), -EPROTO);
	EXPECT_EQ(vbus_ioq_dev_pop(&dev_, &buf_), -EPROTO);
	// ... or moves its index backwards behind what was consumed.
	mem_.head()->avail_idx = htole32(1);
	ASSERT_EQ(vbus_ioq_dev_pop(&dev_, &buf_), 0);
	mem_.head()->avail_idx = htole32(0);
	EXPECT_EQ(vbus_ioq_dev_pop(&dev_, &buf_), -EPROTO);
	// Rewriting the header's count does not change the device's view.
	mem_.head()->count = htole32(1U << 30);
	mem_.head()->avail_idx = htole32(1000);
	EXPECT_EQ(vbus_ioq_dev_pop(&dev_, &buf_), -EPROTO);
}

TEST_F(Ioq, HostileUsedIndexIsRefused)
{
	ASSERT_EQ(Post(1), 0);
	vbus_ioq_drv_publish(&drv_);
	mem_.head()->used_idx = htole32(2); // completes more than was posted
	EXPECT_EQ(vbus_ioq_drv_reclaim(&drv_, &buf_), -EPROTO);
}

TEST_F(Ioq, DoorbellsAreSuppressedWhileTheDeviceIsNotListening)
{
	// The device has not enabled notifications yet.
	ASSERT_EQ(Post(1), 0);
	EXPECT_FALSE(vbus_ioq_drv_publish(&drv_));
	// Enabling finds the pending work rather than losing it.
	EXPECT_TRUE(vbus_shm_signal_enable(&mem_.head()->dev_signal));
	vbus_shm_signal_ack(&mem_.head()->dev_signal);
	ASSERT_EQ(Post(2), 0);
	EXPECT_TRUE(vbus_ioq_drv_publish(&drv_));
	ASSERT_EQ(Post(3), 0);
	EXPECT_FALSE(vbus_ioq_drv_publish(&drv_)) << "one doorbell while one is pending";
}

TEST_F(Ioq, AvailPeeksWithoutConsuming)
{
	EXPECT_FALSE(vbus_ioq_dev_avail(&dev_));
	ASSERT_EQ(Post(1), 0);
	EXPECT_FALSE(vbus_ioq_dev_avail(&dev_)) << "posted but not published";
	vbus_ioq_drv_publish(&drv_);
	EXPECT_TRUE(vbus_ioq_dev_avail(&dev_));
	EXPECT_TRUE(vbus_ioq_dev_avail(&dev_)) << "a peek pops nothing";
	ASSERT_EQ(vbus_ioq_dev_pop(&dev_, &buf_), 0);
	EXPECT_EQ(buf_.cookie, 1U);
	EXPECT_FALSE(vbus_ioq_dev_avail(&dev_));
	// A broken index is something to pop too: the pop refuses it.
	mem_.head()->avail_idx = htole32(kCount * 100);
	EXPECT_TRUE(vbus_ioq_dev_avail(&dev_));
	EXPECT_EQ(vbus_ioq_dev_pop(&dev_, &buf_), -EPROTO);
}

// A driver that sets its pending flag over and over on an empty ring
// must not keep the device polling: enabling acknowledges the flag and
// polls again only for a descriptor.
TEST_F(Ioq, EnableIgnoresAPendingFlagWithoutWork)
{
	vbus_shm_signal *sig = &mem_.head()->dev_signal;
	EXPECT_FALSE(vbus_ioq_dev_enable(&dev_)) << "nothing pending, nothing posted";
	for (int i = 0; i < 1000; i++) {
		sig->pending = htole32(1); // the hostile driver's write
		ASSERT_FALSE(vbus_ioq_dev_enable(&dev_)) << "round " << i;
		ASSERT_EQ(sig->pending, 0U) << "the flag is acknowledged";
	}
	EXPECT_EQ(le32toh(sig->enabled), 1U);
	// An honest driver's raise from now on finds doorbells enabled...
	ASSERT_EQ(Post(1), 0);
	EXPECT_TRUE(vbus_ioq_drv_publish(&drv_)) << "the doorbell rings";
	// ...and one that raced with the enable is found by the peek.
	vbus_shm_signal_disable(sig);
	ASSERT_EQ(Post(2), 0);
	EXPECT_FALSE(vbus_ioq_drv_publish(&drv_)) << "pending already set";
	EXPECT_TRUE(vbus_ioq_dev_enable(&dev_));
	EXPECT_EQ(vbus_ioq_dev_pop(&dev_, &buf_), 0);
	EXPECT_EQ(vbus_ioq_dev_pop(&dev_, &buf_), 0);
	EXPECT_EQ(buf_.cookie, 2U);
}

// The device sleeps until a doorbell, drains the ring and stops when
// vbus_ioq_dev_enable() says so; the driver posts in bursts racing with
// that, and after every other burst waits until the device consumed
// everything.  Every descriptor must be seen: the peek loses no signal.
TEST(IoqStress, EnableAndPeekLoseNoDescriptor)
{
	constexpr std::uint32_t kCount = 64;
	constexpr std::uint64_t kTotal = 200'000;
	constexpr auto kPatience = std::chrono::seconds(5);
	RingMemory mem(kCount);
	vbus_ioq_driver drv{};
	vbus_ioq_device dev{};
	ASSERT_EQ(vbus_ioq_drv_init(&drv, mem.data(), mem.size(), kCount, 0), 0);
	ASSERT_EQ(vbus_ioq_dev_attach(&dev, mem.data(), mem.size()), 0);
	vbus_shm_signal *sig = &mem.head()->dev_signal;
	std::atomic<std::uint64_t> doorbells{0};
	std::atomic<std::uint64_t> consumed{0};
	std::atomic<bool> done{false};
	EXPECT_FALSE(vbus_ioq_dev_enable(&dev));

	std::thread device([&] {
		std::uint64_t seen = 0;
		vbus_ioq_buf buf{};
		while (consumed.load() < kTotal) {
			while (doorbells.load(std::memory_order_acquire) == seen &&
			       !done.load(std::memory_order_acquire)) {
				std::this_thread::yield();
			}
			if (doorbells.load(std::memory_order_acquire) == seen) {
				return; // no doorbell will come: a descriptor was lost
			}
			seen = doorbells.load(std::memory_order_acquire);
			vbus_shm_signal_disable(sig);
			vbus_shm_signal_ack(sig);
			do {
				while (vbus_ioq_dev_pop(&dev, &buf) == 0) {
					vbus_ioq_dev_complete(&dev, 0, 0);
					consumed.fetch_add(1);
				}
				vbus_ioq_dev_publish(&dev);
				// Widen the window in which a raise finds no doorbell.
				std::this_thread::yield();
			} while (vbus_ioq_dev_enable(&dev));
		}
	});

	std::uint64_t posted = 0;
	bool stuck = false;
	vbus_ioq_buf buf{};
	while (posted < kTotal && !stuck) {
		const std::uint64_t burst = 1 + posted % 7;
		for (std::uint64_t i = 0; i < burst && posted < kTotal; i++) {
			const auto deadline = std::chrono::steady_clock::now() + kPatience;
			while (vbus_ioq_drv_free(&drv) == 0) {
				if (vbus_ioq_drv_publish(&drv)) {
					doorbells.fetch_add(1, std::memory_order_acq_rel);
				}
				while (vbus_ioq_drv_reclaim(&drv, &buf) == 0) {
				}
				if (std::chrono::steady_clock::now() > deadline) {
					stuck = true; // the device stopped with work posted
					break;
				}
				std::this_thread::yield();
			}
			if (stuck) {
				break;
			}
			const vbus_ioq_buf out{.cookie = posted, .addr = 0, .len = 0, .flags = 0};
			ASSERT_EQ(vbus_ioq_drv_post(&drv, &out), 0);
			posted++;
		}
		if (vbus_ioq_drv_publish(&drv)) {
			doorbells.fetch_add(1, std::memory_order_acq_rel);
		}
		// Every other burst, wait for the device to consume it all: a
		// descriptor it left behind would never be served.
		if (posted % 2 == 0) {
			const auto deadline = std::chrono::steady_clock::now() + kPatience;
			while (consumed.load() < posted && !stuck) {
				stuck = std::chrono::steady_clock::now() > deadline;
				std::this_thread::yield();
			}
		}
	}
	const auto deadline = std::chrono::steady_clock::now() + kPatience;
	while (consumed.load() < posted && std::chrono::steady_clock::now() < deadline) {
		std::this_thread::yield();
	}
	done.store(true, std::memory_order_release);
	device.join();
	EXPECT_FALSE(stuck);
	EXPECT_EQ(consumed.load(), kTotal) << "descriptors left behind with no doorbell";
}

// Driver and device on two threads for millions of descriptors.  Every
// buffer carries a payload derived from its sequence number, which the
// device checks and answers; the driver checks each answer.
TEST(IoqStress, TwoThreadsMillionsOfDescriptorsEveryPayloadChecked)
{
	constexpr std::uint32_t kCount = 256;
	constexpr std::uint64_t kTotal = 3'000'000;
	constexpr std::size_t kSlot = 64;
	RingMemory mem(kCount);
	std::vector<std::uint64_t> data(kCount * kSlot / sizeof(std::uint64_t));
	vbus_ioq_driver drv{};
	vbus_ioq_device dev{};
	ASSERT_EQ(vbus_ioq_drv_init(&drv, mem.data(), mem.size(), kCount, 0xffff0000U), 0);
	ASSERT_EQ(vbus_ioq_dev_attach(&dev, mem.data(), mem.size()), 0);

	const auto word = [&](std::uint64_t addr) -> std::atomic_ref<std::uint64_t> {
		return std::atomic_ref<std::uint64_t>(data.at(addr / sizeof(std::uint64_t)));
	};
	const auto request = [](std::uint64_t seq) { return seq * 0x9e3779b97f4a7c15ULL; };
	const auto answer = [](std::uint64_t seq) { return ~seq ^ 0x5555555555555555ULL; };
	std::atomic<bool> device_failed{false};

	std::thread device([&] {
		std::uint64_t expect = 0;
		std::uint32_t unpublished = 0;
		vbus_ioq_buf buf{};
		while (expect < kTotal) {
			const int ret = vbus_ioq_dev_pop(&dev, &buf);
			if (ret == 0) {
				if (buf.cookie != expect || buf.len != 8 + expect % 56 ||
				    word(buf.addr).load(std::memory_order_relaxed) !=
				        request(expect)) {
					device_failed = true;
					return;
				}
				word(buf.addr).store(answer(expect), std::memory_order_relaxed);
				vbus_ioq_dev_complete(&dev, buf.len / 2, 1);
				expect++;
				unpublished++;
			} else if (ret != -EAGAIN) {
				device_failed = true;
				return;
			}
			// Publish completions in batches, or when idle, as a device would.
			if (unpublished != 0 && (ret != 0 || unpublished >= 16)) {
				vbus_ioq_dev_publish(&dev);
				unpublished = 0;
			} else if (ret != 0) {
				std::this_thread::yield();
			}
		}
		vbus_ioq_dev_publish(&dev);
	});

	std::uint64_t posted = 0;
	std::uint64_t reclaimed = 0;
	std::uint64_t bad = 0;
	vbus_ioq_buf buf{};
	while (reclaimed < kTotal && !device_failed) {
		bool progress = false;
		while (posted < kTotal && vbus_ioq_drv_free(&drv) != 0) {
			const std::uint64_t addr = (posted % kCount) * kSlot;
			word(addr).store(request(posted), std::memory_order_relaxed);
			const vbus_ioq_buf out{.cookie = posted,
			                       .addr = addr,
			                       .len = static_cast<std::uint32_t>(8 + posted % 56),
			                       .flags = 0};
			ASSERT_EQ(vbus_ioq_drv_post(&drv, &out), 0);
			posted++;
			progress = true;
		}
		vbus_ioq_drv_publish(&drv);
		while (vbus_ioq_drv_reclaim(&drv, &buf) == 0) {
			const bool ok =
			    buf.cookie == reclaimed && buf.len == (8 + reclaimed % 56) / 2 &&
			    buf.flags == 1 &&
			    word(buf.addr).load(std::memory_order_relaxed) == answer(reclaimed);
			bad += ok ? 0 : 1;
			reclaimed++;
			progress = true;
		}
		if (!progress) {
			std::this_thread::yield();
		}
	}
	device.join();
	EXPECT_FALSE(device_failed) << "the device saw a wrong descriptor or payload";
	EXPECT_EQ(reclaimed, kTotal);
	EXPECT_EQ(bad, 0U);
}

} // namespace
