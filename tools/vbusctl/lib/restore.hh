// SPDX-License-Identifier: GPL-2.0
//
// Carrying out a restore plan, and clearing the tree.
//
// A step that fails is reported with its object, operation and reason,
// and the rest goes on.  An object that was created by the plan and then
// failed (a refused attribute, a refused enable) is removed again, so no
// half-configured container or device is left behind; the placements of
// a failed object are reported as skipped.

#pragma once

#include "plan.hh"
#include "tree.hh"

#include <cstddef>
#include <string>
#include <vector>

namespace vbusctl
{

struct Failure {
	std::string object;
	std::string operation;
	std::string reason;

	[[nodiscard]] std::string message() const
	{
		return object + ": " + operation + ": " + reason;
	}
};

struct Report {
	std::size_t steps = 0;   // configfs operations that succeeded
	std::size_t created = 0; // containers, devices and placements made
	std::vector<Failure> failures;
};

Report execute(Tree &tree, const Plan &plan);

// Removes every placement, disables and removes every device, removes
// every container.  What cannot be removed is reported and left.
Report clear(Tree &tree);

} // namespace vbusctl
