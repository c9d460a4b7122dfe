// SPDX-License-Identifier: GPL-2.0
//
// Executing a plan step by step, with roll-back of half-created objects.

#include "restore.hh"

#include "config.hh"
#include "error.hh"

#include <set>

namespace vbusctl
{

namespace
{

class Executor
{
public:
	Executor(Tree &tree, Report &report) : tree_(tree), report_(report) {}

	void run(const Step &step)
	{
		switch (step.kind) {
		case Step::Kind::make_container:
			make(step, containers_);
			break;
		case Step::Kind::make_device:
			make(step, devices_);
			break;
		case Step::Kind::set_container_attribute:
			configure(step, containers_);
			break;
		case Step::Kind::set_device_attribute:
			configure(step, devices_);
			break;
		case Step::Kind::attach:
			attach(step);
			break;
		}
	}

private:
	struct Objects {
		const char *kind;
		std::set<std::string> created;
		std::set<std::string> failed;
	};

	void fail(const Error &e, const std::string &extra = "")
	{
		report_.failures.push_back({e.object(), e.operation(), e.reason() + extra});
	}

	void make(const Step &step, Objects &objects)
	{
		try {
			if (step.kind == Step::Kind::make_container) {
				tree_.make_container(step.object);
			} else {
				tree_.make_device(step.cls, step.object);
			}
			objects.created.insert(step.object);
			++report_.steps;
			++report_.created;
		} catch (const Error &e) {
			objects.failed.insert(step.object);
			fail(e);
		}
	}

	// Removes an object this restore created; returns what to add to
	// the failure's reason.
	std::string roll_back(const Step &step, Objects &objects)
	{
		if (!objects.created.contains(step.object)) {
			return "";
		}
		try {
			if (step.kind == Step::Kind::set_container_attribute) {
				tree_.remove_container(step.object);
			} else {
				tree_.remove_device(step.object);
			}
			--report_.created;
			return std::string("; the ") + objects.kind + " was removed again";
		} catch (const Error &e) {
			return std::string("; removing the ") + objects.kind +
			       " again failed too: " + e.reason();
		}
	}

	void configure(const Step &step, Objects &objects)
	{
		if (objects.failed.contains(step.object)) {
			return; // its failure is reported already
		}
		try {
			if (step.kind == Step::Kind::set_container_attribute) {
				tree_.set_container_attribute(step.object, step.attribute,
				                              step.value);
			} else {
				tree_.set_device_attribute(step.object, step.attribute, step.value);
			}
			++report_.steps;
		} catch (const Error &e) {
			objects.failed.insert(step.object);
			fail(e, roll_back(step, objects));
		}
	}

	void attach(const Step &step)
	{
		const std::string object = "device '" + step.object + "'";
		const std::string operation = "attach to container '" + step.container + "'";
		if (devices_.failed.contains(step.object)) {
			report_.failures.push_back(
			    {object, operation, "skipped: the device was not restored"});
			return;
		}
		if (containers_.failed.contains(step.container)) {
			report_.failures.push_back(
			    {object, operation, "skipped: the container was not restored"});
			return;
		}
		try {
			tree_.attach(step.object, step.container);
			++report_.steps;
			++report_.created;
		} catch (const Error &e) {
			fail(e);
		}
	}

	Tree &tree_;
	Report &report_;
	Objects containers_{"container", {}, {}};
	Objects devices_{"device", {}, {}};
};

} // namespace

Report execute(Tree &tree, const Plan &plan)
{
	Report report;
	Executor executor(tree, report);
	for (const Step &step : plan.steps) {
		executor.run(step);
	}
	return report;
}

Report clear(Tree &tree)
{
	Report report;
	const auto attempt = [&](auto &&operation) {
		try {
			operation();
			++report.steps;
			return true;
		} catch (const Error &e) {
			report.failures.push_back({e.object(), e.operation(), e.reason()});
			return false;
		}
	};
	const Config config = snapshot(tree);
	for (const Placement &p : config.placements) {
		attempt([&] { tree.detach(p.device); });
	}
	for (const DeviceConfig &d : config.devices) {
		if (d.enabled &&
		    !attempt([&] { tree.set_device_attribute(d.name, "enabled", "0"); })) {
			continue;
		}
		attempt([&] { tree.remove_device(d.name); });
	}
	for (const ContainerConfig &c : config.containers) {
		attempt([&] { tree.remove_container(c.name); });
	}
	return report;
}

} // namespace vbusctl
