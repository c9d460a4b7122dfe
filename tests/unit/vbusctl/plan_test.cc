// SPDX-License-Identifier: GPL-2.0
// vbusctl: the restore plan: order, idempotence, conflicts.

#include <gtest/gtest.h>

#include <plan.hh>

#include <algorithm>

namespace vbusctl
{
namespace
{

using K = Step::Kind;

Config sample()
{
	Config c;
	c.containers = {{"c1", 1000U, std::nullopt}};
	c.devices = {{"e0", "echo", {{"max_len", "8192"}}, true},
	             {"v0", "venet", {{"mtu", "9000"}}, false}};
	c.placements = {{"e0", "c1"}, {"v0", "c1"}};
	return c;
}

std::vector<std::string> lines(const Plan &plan)
{
	std::vector<std::string> out;
	std::transform(plan.steps.begin(), plan.steps.end(), std::back_inserter(out), describe);
	return out;
}

TEST(RestorePlan, CreatesInDependencyOrderEnablingLast)
{
	const Plan plan = plan_restore(sample(), Config{});
	EXPECT_TRUE(plan.conflicts.empty());
	EXPECT_EQ(lines(plan), (std::vector<std::string>{
	                           "container 'c1': create",
	                           "container 'c1': set owner_uid=1000",
	                           "device 'e0': create in class 'echo'",
	                           "device 'e0': set max_len=8192",
	                           "device 'e0': enable",
	                           "device 'v0': create in class 'venet'",
	                           "device 'v0': set mtu=9000",
	                           "device 'e0': attach to container 'c1'",
	                           "device 'v0': attach to container 'c1'",
	                       }));
}

TEST(RestorePlan, NothingToDoWhenTheTreeMatches)
{
	const Plan plan = plan_restore(sample(), sample());
	EXPECT_TRUE(plan.steps.empty());
	EXPECT_TRUE(plan.conflicts.empty());
}

TEST(RestorePlan, OnlyWhatIsMissing)
{
	Config have = sample();
	have.placements.clear();
	have.devices.pop_back();
	const Plan plan = plan_restore(sample(), have);
	EXPECT_TRUE(plan.conflicts.empty());
	EXPECT_EQ(lines(plan), (std::vector<std::string>{
	                           "device 'v0': create in class 'venet'",
	                           "device 'v0': set mtu=9000",
	                           "device 'e0': attach to container 'c1'",
	                           "device 'v0': attach to container 'c1'",
	                       }));
}

TEST(RestorePlan, ObjectsTheFileDoesNotNameAreLeftAlone)
{
	Config have = sample();
	have.containers.push_back({"other", std::nullopt, std::nullopt});
	have.devices.push_back({"x", "echo", {}, true});
	have.placements.push_back({"x", "other"});
	const Plan plan = plan_restore(sample(), have);
	EXPECT_TRUE(plan.steps.empty());
	EXPECT_TRUE(plan.conflicts.empty());
}

TEST(RestorePlan, DifferencesAreConflicts)
{
	Config have = sample();
	have.containers[0].owner_uid = 5U;
	have.devices[0].attributes["max_len"] = "100";
	have.devices[1].enabled = true;
	have.devices[1].cls = "echo";
	const Plan plan = plan_restore(sample(), have);
	EXPECT_TRUE(plan.steps.empty());
	EXPECT_EQ(plan.conflicts,
	          (std::vector<Conflict>{
	              {"container 'c1'", "owner_uid is '5', the configuration has '1000'"},
	              {"device 'e0'", "max_len is '100', the configuration has '8192'"},
	              {"device 'v0'", "is of class 'echo', the configuration has 'venet'"},
	          }));
}

TEST(RestorePlan, EnabledStateAndUnknownAttributesConflict)
{
	Config have = sample();
	have.devices[0].enabled = false;
	have.devices[1].attributes.clear();
	const Plan plan = plan_restore(sample(), have);
	EXPECT_EQ(plan.conflicts,
	          (std::vector<Conflict>{
	              {"device 'e0'", "is disabled, the configuration has it enabled"},
	              {"device 'v0'", "has no writable attribute mtu"},
	          }));
}

TEST(RestorePlan, PlacementsElsewhereConflict)
{
	Config want = sample();
	want.containers.push_back({"c2", std::nullopt, std::nullopt});
	want.placements = {{"e0", "c2"}};
	Config have = sample();
	have.containers.push_back({"c2", std::nullopt, std::nullopt});
	const Plan plan = plan_restore(want, have);
	EXPECT_TRUE(plan.steps.empty());
	EXPECT_EQ(
	    plan.conflicts,
	    (std::vector<Conflict>{
	        {"device 'e0'", "is placed in container 'c1', the configuration places it in 'c2'"},
	        {"device 'v0'",
	         "is placed in container 'c1', the configuration leaves it unplaced"},
	    }));
}

} // namespace
} // namespace vbusctl
