// SPDX-License-Identifier: GPL-2.0
//
// The shm-signal protocol, exactly as compiled into the kernel.

extern "C" {
#include <vbus/abi_check.h>
#include <vbus/shm_signal.h>
}

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <random>
#include <string>
#include <thread>

namespace {

class ShmSignal : public ::testing::Test {
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

// A producer raises after each item, pausing at random so the consumer
// keeps going back to sleep; the consumer sleeps until a doorbell, then
// disables notifications while it polls.  Every item must be seen: no
// signal may be lost when enabling races with the producer.
TEST_F(ShmSignal, NoSignalIsLostWhenEnableRacesWithRaise)
{
	constexpr std::uint64_t kItems = 2'000'000;
	std::atomic<std::uint64_t> produced{0};
	std::atomic<std::uint64_t> doorbells{0};
	std::atomic<bool> done{false};

	EXPECT_FALSE(vbus_shm_signal_enable(&sig_));
	std::thread producer([&] {
		// A fixed seed keeps the interleavings reproducible.
		std::minstd_rand rng(42); // NOLINT(cert-msc32-c,cert-msc51-cpp)
		for (std::uint64_t i = 1; i <= kItems; i++) {
			produced.store(i, std::memory_order_release);
			if (vbus_shm_signal_raise(&sig_)) {
				doorbells.fetch_add(1, std::memory_order_acq_rel);
			}
			for (unsigned spin = rng() % 64; spin != 0; spin--) {
				std::atomic_signal_fence(std::memory_order_seq_cst);
			}
		}
		done.store(true, std::memory_order_release);
	});

	std::uint64_t consumed = 0;
	std::uint64_t seen = 0;
	std::uint64_t wakeups = 0;
	while (consumed < kItems) {
		// Sleep until a doorbell rings (spinning stands in for an IRQ).
		// Once the producer is done, no doorbell can come any more.
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
	EXPECT_EQ(consumed, kItems) << "a signal was lost";
	// The consumer really slept and was woken many times, and
	// suppression saved doorbells.
	EXPECT_GT(wakeups, 100U);
	EXPECT_LT(doorbells.load(), kItems);
	RecordProperty("doorbells", std::to_string(doorbells.load()));
}

} // namespace
