// SPDX-License-Identifier: GPL-2.0
//
// The shm-signal protocol, exactly as compiled into the kernel.

extern "C" {
#include <vbus_abi_check.h>
#include <vbus_shm_signal.h>
}

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <thread>

namespace
{

class ShmSignal : public ::testing::Test
{
protected:
	void SetUp() override { vbus_shm_signal_init(&sig_); }
	vbus_shm_signal sig_{};
};

TEST_F(ShmSignal, InitLaysOutMagicAndVersion)
{
	EXPECT_TRUE(vbus_shm_signal_valid(&sig_));
	EXPECT_EQ(le32toh(sig_.magic), VBUS_SHM_SIGNAL_MAGIC);
	EXPECT_EQ(sig_.enabled, 0U);
	EXPECT_EQ(sig_.pending, 0U);
}

TEST_F(ShmSignal, RejectsForeignLayout)
{
	sig_.magic = htole32(VBUS_SHM_SIGNAL_MAGIC + 1);
	EXPECT_FALSE(vbus_shm_signal_valid(&sig_));
	vbus_shm_signal_init(&sig_);
	sig_.version = htole32(VBUS_SHM_SIGNAL_VERSION + 1);
	EXPECT_FALSE(vbus_shm_signal_valid(&sig_));
}

TEST_F(ShmSignal, DisabledReceiverIsNotNotified)
{
	EXPECT_FALSE(vbus_shm_signal_raise(&sig_));
	// ... but finds the work when it enables again.
	EXPECT_TRUE(vbus_shm_signal_enable(&sig_));
}

TEST_F(ShmSignal, ManyRaisesWhilePendingGiveOneNotification)
{
	EXPECT_FALSE(vbus_shm_signal_enable(&sig_));
	int notifications = 0;
	for (int i = 0; i < 1000; i++) {
		notifications += vbus_shm_signal_raise(&sig_) ? 1 : 0;
	}
	EXPECT_EQ(notifications, 1);
	EXPECT_TRUE(vbus_shm_signal_ack(&sig_));
	EXPECT_FALSE(vbus_shm_signal_ack(&sig_));
	// After the acknowledgment the next raise notifies again.
	EXPECT_TRUE(vbus_shm_signal_raise(&sig_));
}

TEST_F(ShmSignal, NonZeroFlagsFromAPeerCountAsSet)
{
	sig_.enabled = htole32(0x80000000U);
	EXPECT_TRUE(vbus_shm_signal_raise(&sig_));
	sig_.pending = htole32(0xdeadbeefU);
	EXPECT_FALSE(vbus_shm_signal_raise(&sig_));
	EXPECT_TRUE(vbus_shm_signal_ack(&sig_));
}

// A producer raises after each item, in bursts of random length; after
// every other burst it waits until the consumer has caught up and gone
// back to sleep, so the consumer sleeps and wakes thousands of times,
// and the other bursts race with its enable.  The consumer sleeps until
// a doorbell, then disables notifications while it polls.  Every item
// must be seen: no signal may be lost when enabling races with raising.
TEST_F(ShmSignal, NoSignalIsLostWhenEnableRacesWithRaise)
{
	constexpr std::uint64_t kItems = 2'000'000;
	constexpr auto kPatience = std::chrono::seconds(5);
	std::atomic<std::uint64_t> produced{0};
	std::atomic<std::uint64_t> doorbells{0};
	std::atomic<std::uint64_t> asleep_at{~0ULL};
	std::atomic<bool> done{false};
	std::uint64_t forced_sleeps = 0;
	bool stuck = false;

	EXPECT_FALSE(vbus_shm_signal_enable(&sig_));
	std::thread producer([&] {
		// A fixed seed keeps the test reproducible.
		std::minstd_rand rng(42); // NOLINT(cert-msc32-c,cert-msc51-cpp)
		std::uint64_t burst_end = 0;
		for (std::uint64_t i = 1; i <= kItems && !stuck; i++) {
			produced.store(i, std::memory_order_release);
			if (vbus_shm_signal_raise(&sig_)) {
				doorbells.fetch_add(1, std::memory_order_acq_rel);
			}
			if (i < burst_end) {
				continue;
			}
			burst_end = i + 1 + rng() % 128;
			if ((rng() & 1) == 0) {
				continue;
			}
			// Wait for the consumer to sleep with everything consumed.
			const auto deadline = std::chrono::steady_clock::now() + kPatience;
			while (asleep_at.load(std::memory_order_acquire) != i) {
				if (std::chrono::steady_clock::now() > deadline) {
					stuck = true; // the consumer missed a signal
					break;
				}
				std::this_thread::yield();
			}
			forced_sleeps++;
		}
		done.store(true, std::memory_order_release);
	});

	std::uint64_t consumed = 0;
	std::uint64_t seen = 0;
	std::uint64_t wakeups = 0;
	while (consumed < kItems) {
		// Sleep until a doorbell rings (spinning stands in for an IRQ).
		// Once the producer is done, no doorbell can come any more.
		asleep_at.store(consumed, std::memory_order_release);
		while (doorbells.load(std::memory_order_acquire) == seen &&
		       !done.load(std::memory_order_acquire)) {
			std::this_thread::yield();
		}
		if (doorbells.load(std::memory_order_acquire) == seen) {
			break; // lost: work is left and nobody will ring
		}
		seen = doorbells.load(std::memory_order_acquire);
		wakeups++;

		vbus_shm_signal_disable(&sig_);
		do {
			vbus_shm_signal_ack(&sig_);
			consumed = produced.load(std::memory_order_acquire);
		} while (vbus_shm_signal_enable(&sig_));
	}
	producer.join();
	EXPECT_FALSE(stuck) << "the consumer slept through a signal";
	EXPECT_EQ(consumed, kItems) << "a signal was lost";
	// Every forced sleep ended with a doorbell, and suppression saved
	// doorbells for the items raised while the consumer was polling.
	EXPECT_GT(forced_sleeps, 1000U);
	EXPECT_GE(wakeups, forced_sleeps);
	EXPECT_LT(doorbells.load(), kItems);
}

} // namespace
