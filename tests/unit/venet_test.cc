// SPDX-License-Identifier: GPL-2.0
// venet feature rules (lib/vbus_venet.h): what a device accepts; the
// shared-memory ids of <vbus/venet.h>.

#include <gtest/gtest.h>

#include <cstdint>
#include <set>

#include <vbus_venet.h>

namespace
{

constexpr std::uint64_t kTso = VBUS_VENET_F_TX_TSO4 | VBUS_VENET_F_TX_TSO6 | VBUS_VENET_F_TX_ECN;

TEST(VenetFeatures, AllIsEveryDefinedBit)
{
	EXPECT_EQ(VBUS_VENET_F_ALL, 0x3ffULL);
	EXPECT_EQ(vbus_venet_features_fix(VBUS_VENET_F_ALL), VBUS_VENET_F_ALL);
}

TEST(VenetFeatures, AcceptIsTheIntersection)
{
	const std::uint64_t offered =
	    VBUS_VENET_F_TX_CSUM | VBUS_VENET_F_RX_CSUM | VBUS_VENET_F_LINK_EVENTS;
	const std::uint64_t wanted = VBUS_VENET_F_TX_CSUM | VBUS_VENET_F_MQ;
	EXPECT_EQ(vbus_venet_features_accept(offered, wanted), VBUS_VENET_F_TX_CSUM);
}

TEST(VenetFeatures, AdministratorMaskWins)
{
	// The driver asks for everything; TSO was masked out of the offer.
	const std::uint64_t offered = VBUS_VENET_F_ALL & ~kTso;
	const std::uint64_t got = vbus_venet_features_accept(offered, ~0ULL);
	EXPECT_EQ(got & kTso, 0U);
	EXPECT_EQ(got, offered);
}

TEST(VenetFeatures, UnknownBitsAreNeverAccepted)
{
	EXPECT_EQ(vbus_venet_features_accept(~0ULL, ~0ULL), VBUS_VENET_F_ALL);
	EXPECT_EQ(vbus_venet_features_fix(1ULL << 63), 0U);
}

TEST(VenetFeatures, SegmentationNeedsChecksumOffload)
{
	EXPECT_EQ(vbus_venet_features_fix(VBUS_VENET_F_TX_TSO4 | VBUS_VENET_F_TX_ECN), 0U);
	EXPECT_EQ(vbus_venet_features_fix(VBUS_VENET_F_RX_TSO6 | VBUS_VENET_F_RX_ECN), 0U);
	EXPECT_EQ(vbus_venet_features_fix(VBUS_VENET_F_TX_CSUM | VBUS_VENET_F_TX_TSO6),
	          VBUS_VENET_F_TX_CSUM | VBUS_VENET_F_TX_TSO6);
	// The directions are independent.
	EXPECT_EQ(vbus_venet_features_fix(VBUS_VENET_F_RX_CSUM | VBUS_VENET_F_TX_TSO4),
	          VBUS_VENET_F_RX_CSUM);
}

TEST(VenetFeatures, EcnNeedsSegmentation)
{
	EXPECT_EQ(vbus_venet_features_fix(VBUS_VENET_F_TX_CSUM | VBUS_VENET_F_TX_ECN),
	          VBUS_VENET_F_TX_CSUM);
	EXPECT_EQ(vbus_venet_features_fix(VBUS_VENET_F_RX_CSUM | VBUS_VENET_F_RX_TSO4 |
	                                  VBUS_VENET_F_RX_ECN),
	          VBUS_VENET_F_RX_CSUM | VBUS_VENET_F_RX_TSO4 | VBUS_VENET_F_RX_ECN);
}

TEST(VenetQueues, Bounds)
{
	EXPECT_EQ(vbus_venet_queues_accept(VBUS_VENET_F_MQ, 4, 0), 0);
	EXPECT_EQ(vbus_venet_queues_accept(VBUS_VENET_F_MQ, 4, 5), 0);
	EXPECT_EQ(vbus_venet_queues_accept(VBUS_VENET_F_MQ, 4, 4), 4);
	EXPECT_EQ(vbus_venet_queues_accept(0, 4, 1), 1);
}

TEST(VenetQueues, MoreThanOneNeedsMq)
{
	EXPECT_EQ(vbus_venet_queues_accept(0, 4, 2), 0);
	EXPECT_EQ(vbus_venet_queues_accept(VBUS_VENET_F_MQ, 4, 2), 2);
}

// Every queue index the ABI can express (queue_pairs is a u16) has ring
// ids of its own, and none of them is the event ring's.
TEST(VenetShmIds, NoRingIdMeetsAnother)
{
	std::set<std::uint32_t> ids{VBUS_VENET_SHM_EVENTS};
	for (std::uint32_t q = 0; q <= 0xffff; q++) {
		EXPECT_TRUE(ids.insert(VBUS_VENET_SHM_RX(q)).second) << "rx ring of queue " << q;
		EXPECT_TRUE(ids.insert(VBUS_VENET_SHM_TX(q)).second) << "tx ring of queue " << q;
	}
	EXPECT_EQ(ids.size(), 2 * 0x10000U + 1);
}

} // namespace
