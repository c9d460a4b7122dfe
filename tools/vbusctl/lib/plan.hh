// SPDX-License-Identifier: GPL-2.0
//
// The restore plan: the configfs operations that turn the tree's
// configuration into the wanted one, in dependency order:
//
//   containers (mkdir, owners) -> devices (mkdir, attributes, enabled
//   last) -> placements (links)
//
// Objects that already exist with the wanted values get no step, so a
// second restore of the same configuration plans nothing.  An existing
// object whose values differ is a conflict: restore changes nothing then
// (unless told to clear the tree first).  Objects the wanted
// configuration does not mention are left alone.

#pragma once

#include "config.hh"

#include <string>
#include <vector>

namespace vbusctl
{

struct Step {
	enum class Kind {
		make_container,
		set_container_attribute,
		make_device,
		set_device_attribute,
		attach
	};

	Kind kind;
	std::string object;    // container or device name
	std::string cls;       // make_device
	std::string attribute; // set_*_attribute
	std::string value;     // set_*_attribute
	std::string container; // attach

	bool operator==(const Step &) const = default;
};

struct Conflict {
	std::string object;
	std::string difference;

	bool operator==(const Conflict &) const = default;
};

struct Plan {
	std::vector<Step> steps;
	std::vector<Conflict> conflicts;
};

Plan plan_restore(const Config &want, const Config &have);

// One line for a step, e.g. "device 'e0': set max_len=8192".
std::string describe(const Step &step);

} // namespace vbusctl
