// SPDX-License-Identifier: GPL-2.0
//
// cfs-fuzz: the objects under configfs as the fuzzer knows them, with
// a lock for each attribute of each object.

#ifndef VBUS_TESTS_TOOLS_CFS_FUZZ_OBJECTS_HH
#define VBUS_TESTS_TOOLS_CFS_FUZZ_OBJECTS_HH

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "values.hh"

namespace cfs_fuzz
{

enum class Kind { container, echo, venet };

struct Attr {
	const char *name;
	Value (*gen)(Rng &);
	// Attributes whose reading this one's writes change besides itself
	// (venet's ifname reads as the netdev's name while enabled).
	std::vector<const char *> also;
};

inline const std::vector<Attr> container_attrs = {
    {"owner_uid", owner_value, {}},
    {"owner_gid", owner_value, {}},
};
inline const std::vector<Attr> echo_attrs = {
    {"enabled", enabled_value, {}},
    {"max_len", max_len_value, {}},
};
inline const std::vector<Attr> venet_attrs = {
    {"enabled", enabled_value, {"ifname"}},
    {"host_mac", mac_value, {}},
    {"guest_mac", mac_value, {}},
    {"ifname", ifname_value, {}},
    {"mtu", mtu_value, {}},
    {"queues", queues_value, {}},
    {"features", features_value, {}},
};
inline const std::vector<const char *> container_ro = {"clients"};
inline const std::vector<const char *> device_ro = {"id", "container", "type", "connections"};

struct Object {
	Kind kind;
	std::string name;
	std::string path;
	// Exclusive for mkdir and rmdir, shared for checked writes: the object
	// does not come and go while a write is checked.
	std::shared_mutex exist;
	// One per attribute of attrs(), held while a write is checked.
	std::vector<std::mutex> attr_locks;

	Object(Kind k, std::string n, std::string p)
	    : kind(k), name(std::move(n)), path(std::move(p)), attr_locks(attrs().size())
	{
	}

	[[nodiscard]] const std::vector<Attr> &attrs() const
	{
		return kind == Kind::container ? container_attrs
		       : kind == Kind::echo    ? echo_attrs
		                               : venet_attrs;
	}
	[[nodiscard]] const std::vector<const char *> &read_only() const
	{
		return kind == Kind::container ? container_ro : device_ro;
	}
	[[nodiscard]] size_t attr_index(const char *name) const
	{
		const auto &a = attrs();
		for (size_t i = 0; i < a.size(); i++) {
			if (std::strcmp(a[i].name, name) == 0) {
				return i;
			}
		}
		throw std::logic_error(std::string("no attribute ") + name);
	}
};

struct Tree {
	std::string cfs;
	std::string local;
	std::vector<std::unique_ptr<Object>> containers;
	std::vector<std::unique_ptr<Object>> devices;
	// The names two classes race for (op_mkdir_cross_class).  vbus frees
	// a device's name inside rmdir(2), and the directory is gone when
	// rmdir(2) returns: a check that both classes have the name must not
	// overlap an rmdir of it.  mkdirs and checks hold the lock shared
	// (they race each other), an rmdir holds it alone.
	std::array<std::shared_mutex, 2> cross_class;

	Tree(std::string c, std::string l, unsigned ncontainers, unsigned ndevices)
	    : cfs(std::move(c)), local(std::move(l))
	{
		for (unsigned i = 0; i < ncontainers; i++) {
			const std::string name = "fzc" + std::to_string(i);
			containers.push_back(std::make_unique<Object>(Kind::container, name,
			                                              cfs + "/containers/" + name));
		}
		for (unsigned i = 0; i < ndevices; i++) {
			const bool venet = i % 2 == 1;
			const std::string name = (venet ? "fzv" : "fze") + std::to_string(i);
			devices.push_back(std::make_unique<Object>(
			    venet ? Kind::venet : Kind::echo, name,
			    cfs + "/devices/" + (venet ? "venet/" : "echo/") + name));
		}
	}
};

} // namespace cfs_fuzz

#endif
