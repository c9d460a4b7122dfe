// SPDX-License-Identifier: GPL-2.0
//
// Planning a restore: compare, order, and find conflicts.

#include "plan.hh"

#include "names.hh"

namespace vbusctl
{

namespace
{

std::string quoted(const std::string &s)
{
	return "'" + s + "'";
}

void plan_container(const ContainerConfig &want, const ContainerConfig *have, Plan &plan)
{
	const std::string object = "container " + quoted(want.name);
	if (have != nullptr) {
		if (have->owner_uid != want.owner_uid) {
			plan.conflicts.push_back(
			    {object, "owner_uid is " + quoted(format_owner(have->owner_uid)) +
			                 ", the configuration has " +
			                 quoted(format_owner(want.owner_uid))});
		}
		if (have->owner_gid != want.owner_gid) {
			plan.conflicts.push_back(
			    {object, "owner_gid is " + quoted(format_owner(have->owner_gid)) +
			                 ", the configuration has " +
			                 quoted(format_owner(want.owner_gid))});
		}
		return;
	}
	using K = Step::Kind;
	plan.steps.push_back({K::make_container, want.name, {}, {}, {}, {}});
	if (want.owner_uid) {
		plan.steps.push_back({K::set_container_attribute,
		                      want.name,
		                      {},
		                      "owner_uid",
		                      format_owner(want.owner_uid),
		                      {}});
	}
	if (want.owner_gid) {
		plan.steps.push_back({K::set_container_attribute,
		                      want.name,
		                      {},
		                      "owner_gid",
		                      format_owner(want.owner_gid),
		                      {}});
	}
}

void compare_device(const DeviceConfig &want, const DeviceConfig &have, Plan &plan)
{
	const std::string object = "device " + quoted(want.name);
	if (have.cls != want.cls) {
		plan.conflicts.push_back({object, "is of class " + quoted(have.cls) +
		                                      ", the configuration has " +
		                                      quoted(want.cls)});
		return;
	}
	for (const auto &[attr, value] : want.attributes) {
		const auto it = have.attributes.find(attr);
		if (it == have.attributes.end()) {
			plan.conflicts.push_back({object, "has no writable attribute " + attr});
		} else if (it->second != value) {
			plan.conflicts.push_back({object, attr + " is " + quoted(it->second) +
			                                      ", the configuration has " +
			                                      quoted(value)});
		}
	}
	if (have.enabled != want.enabled) {
		plan.conflicts.push_back({object, std::string("is ") +
		                                      (have.enabled ? "enabled" : "disabled") +
		                                      ", the configuration has it " +
		                                      (want.enabled ? "enabled" : "disabled")});
	}
}

void plan_device(const DeviceConfig &want, Plan &plan)
{
	using K = Step::Kind;
	plan.steps.push_back({K::make_device, want.name, want.cls, {}, {}, {}});
	for (const auto &[attr, value] : want.attributes) {
		plan.steps.push_back({K::set_device_attribute, want.name, {}, attr, value, {}});
	}
	if (want.enabled) {
		plan.steps.push_back({K::set_device_attribute, want.name, {}, "enabled", "1", {}});
	}
}

void plan_placements(const Config &want, const Config &have, Plan &plan)
{
	for (const DeviceConfig &d : want.devices) {
		if (have.find_device(d.name) == nullptr) {
			continue;
		}
		const std::string want_c = want.placement_of(d.name);
		const std::string have_c = have.placement_of(d.name);
		if (!have_c.empty() && have_c != want_c) {
			plan.conflicts.push_back(
			    {"device " + quoted(d.name),
			     "is placed in container " + quoted(have_c) + ", the configuration " +
			         (want_c.empty() ? "leaves it unplaced"
			                         : "places it in " + quoted(want_c))});
		}
	}
	for (const Placement &p : want.placements) {
		if (have.placement_of(p.device).empty()) {
			plan.steps.push_back(
			    {Step::Kind::attach, p.device, {}, {}, {}, p.container});
		}
	}
}

} // namespace

Plan plan_restore(const Config &want, const Config &have)
{
	Plan plan;
	for (const ContainerConfig &c : want.containers) {
		plan_container(c, have.find_container(c.name), plan);
	}
	for (const DeviceConfig &d : want.devices) {
		if (const DeviceConfig *existing = have.find_device(d.name); existing != nullptr) {
			compare_device(d, *existing, plan);
		} else {
			plan_device(d, plan);
		}
	}
	plan_placements(want, have, plan);
	return plan;
}

std::string describe(const Step &step)
{
	switch (step.kind) {
	case Step::Kind::make_container:
		return "container " + quoted(step.object) + ": create";
	case Step::Kind::set_container_attribute:
		return "container " + quoted(step.object) + ": set " + step.attribute + "=" +
		       step.value;
	case Step::Kind::make_device:
		return "device " + quoted(step.object) + ": create in class " + quoted(step.cls);
	case Step::Kind::set_device_attribute:
		if (step.attribute == "enabled") {
			return "device " + quoted(step.object) + ": enable";
		}
		return "device " + quoted(step.object) + ": set " + step.attribute + "=" +
		       step.value;
	case Step::Kind::attach:
		return "device " + quoted(step.object) + ": attach to container " +
		       quoted(step.container);
	}
	return "";
}

} // namespace vbusctl
