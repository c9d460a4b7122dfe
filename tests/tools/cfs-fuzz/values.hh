// SPDX-License-Identifier: GPL-2.0
//
// cfs-fuzz: the values written to attributes, valid and garbage, and
// what the kernel must make of each.

#ifndef VBUS_TESTS_TOOLS_CFS_FUZZ_VALUES_HH
#define VBUS_TESTS_TOOLS_CFS_FUZZ_VALUES_HH

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <utility>

namespace cfs_fuzz
{

using Rng = std::mt19937_64;

enum class Expect {
	valid,   // must read back as `back` when accepted
	invalid, // must be refused
	any,     // either; only "refused changes nothing" applies
};

struct Value {
	std::string bytes;
	Expect expect = Expect::any;
	std::string back; // what a read gives after it was accepted
};

inline Value valid(std::string v, std::string back)
{
	return {std::move(v) + "\n", Expect::valid, std::move(back) + "\n"};
}

inline Value valid(const std::string &v)
{
	return valid(v, v);
}

inline Value invalid(std::string v)
{
	return {std::move(v), Expect::invalid, {}};
}

inline Value any(std::string v)
{
	return {std::move(v), Expect::any, {}};
}

template <typename T> T pick(Rng &rng, std::span<const T> items)
{
	std::uniform_int_distribution<size_t> d(0, items.size() - 1);
	return items[d(rng)];
}

inline unsigned long long uniform(Rng &rng, unsigned long long lo, unsigned long long hi)
{
	std::uniform_int_distribution<unsigned long long> d(lo, hi);
	return d(rng);
}

inline bool chance(Rng &rng, unsigned percent)
{
	return uniform(rng, 0, 99) < percent;
}

// Garbage that no attribute of vbus accepts.
inline Value garbage(Rng &rng)
{
	switch (uniform(rng, 0, 9)) {
	case 0:
		return invalid(""); // configfs: EFAULT
	case 1:
		return invalid("\n"); // (owner_* take it: see owner_value)
	case 2:
		return invalid("-1\n");
	case 3:
		return invalid("99999999999999999999999\n");
	case 4:
		return invalid(chance(rng, 50) ? "nonsense\n" : "yes\n");
	case 5:
		return invalid(std::string(uniform(rng, 100, 5000), '7'));
	case 6:
		return invalid("\xff\xfe\x80\n");
	case 7:
		return invalid("a/b:c d\n");
	case 8:
		return invalid("\n\n\n");
	default:
		return invalid("1 2\n");
	}
}

// Everything else; NUL ends what the kernel parses, so what follows it
// may or may not matter: such values are "any".
inline Value with_nul(Rng &rng, const Value &v)
{
	std::string b = v.bytes;
	b.insert(uniform(rng, 0, b.size()), 1, '\0');
	return any(b);
}

inline Value owner_value(Rng &rng)
{
	switch (uniform(rng, 0, 7)) {
	case 0:
		return valid("", "");
	case 1:
		return valid("0");
	case 2:
		return valid(std::to_string(uniform(rng, 1, 70000)));
	case 3:
		return valid("4294967294");
	case 4:
		return invalid("4294967295\n");
	case 5:
		return invalid("nobody\n");
	case 6:
		return any(" 1000 \n");
	default: {
		// White space alone clears the owner, like an empty value.
		Value g = garbage(rng);
		const bool blank = g.bytes.find_first_not_of('\n') == std::string::npos;
		return blank && !g.bytes.empty() ? valid("", "") : g;
	}
	}
}

inline Value enabled_value(Rng &rng)
{
	switch (uniform(rng, 0, 9)) {
	case 0:
	case 1:
	case 2:
		return valid("1");
	case 3:
	case 4:
	case 5:
		return valid("0");
	case 6:
		return invalid("2\n");
	case 7:
		return invalid("maybe\n");
	case 8:
		return invalid(chance(rng, 50) ? "yes\n" : "off\n"); // 0 or 1 only
	default:
		return garbage(rng);
	}
}

inline Value max_len_value(Rng &rng)
{
	switch (uniform(rng, 0, 7)) {
	case 0:
		return valid("1");
	case 1:
		return valid("65536");
	case 2: {
		const auto n = uniform(rng, 1, 65536);
		return valid(std::to_string(n));
	}
	case 3:
		return valid("0x100", "256");
	case 4:
		return invalid("0\n");
	case 5:
		return invalid("65537\n");
	case 6:
		return invalid("4294967296\n");
	default:
		return garbage(rng);
	}
}

inline std::string mac_string(Rng &rng, unsigned first)
{
	std::array<char, 32> buf{};
	(void)std::snprintf(buf.data(), buf.size(), "%02x:%02x:%02x:%02x:%02x:%02x", first,
	                    static_cast<unsigned>(uniform(rng, 0, 255)),
	                    static_cast<unsigned>(uniform(rng, 0, 255)),
	                    static_cast<unsigned>(uniform(rng, 0, 255)),
	                    static_cast<unsigned>(uniform(rng, 0, 255)),
	                    static_cast<unsigned>(uniform(rng, 0, 255)));
	return buf.data();
}

inline Value mac_value(Rng &rng)
{
	switch (uniform(rng, 0, 7)) {
	case 0:
	case 1:
		return valid(mac_string(rng, 0x52));
	case 2: {
		std::string upper = mac_string(rng, 0x02);
		std::string lower = upper;
		std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
		return valid(upper, lower);
	}
	case 3:
		return invalid(mac_string(rng, 0x01) + "\n"); // multicast
	case 4:
		return invalid("00:00:00:00:00:00\n");
	case 5:
		return invalid("52:54:00:12:34\n");
	case 6:
		return invalid("52:54:00:12:34:56:78\n");
	default:
		return garbage(rng);
	}
}

inline Value ifname_value(Rng &rng)
{
	static const std::array<const char *, 6> taken = {"lo",   "fzn0",  "fzn1",
	                                                  "fzn2", "fzn%d", "vbus-vn%d"};
	switch (uniform(rng, 0, 9)) {
	case 0:
	case 1:
		return valid(pick<const char *>(rng, taken));
	case 2:
		return valid("fz\xc3\x28\xff" + std::to_string(uniform(rng, 0, 9)));
	case 3:
		return valid("fz-15-chars-abc");
	case 4:
		return invalid("fz-16-chars-abcd\n");
	case 5:
		return invalid("fz%d%d\n");
	case 6:
		return invalid(chance(rng, 50) ? "fz:1\n" : "fz 1\n");
	case 7:
		return invalid(chance(rng, 50) ? ".\n" : "..\n");
	case 8:
		return invalid("fz%s\n");
	default: {
		// A netdev name may hold any byte but '/', ':' and white space.
		Value g = garbage(rng);
		if (g.bytes == "-1\n" || g.bytes == "\xff\xfe\x80\n" || g.bytes == "yes\n" ||
		    g.bytes == "nonsense\n") {
			g.expect = Expect::any;
		}
		return g;
	}
	}
}

inline Value mtu_value(Rng &rng)
{
	switch (uniform(rng, 0, 6)) {
	case 0:
		return valid("68");
	case 1:
		return valid("9000");
	case 2:
		return valid(std::to_string(uniform(rng, 68, 9000)));
	case 3:
		return invalid("67\n");
	case 4:
		return invalid("9001\n");
	case 5:
		return invalid("0x5dc\n");
	default:
		return garbage(rng);
	}
}

inline Value queues_value(Rng &rng)
{
	switch (uniform(rng, 0, 5)) {
	case 0:
	case 1:
		return valid(std::to_string(uniform(rng, 1, 16)));
	case 2:
		return invalid("0\n");
	case 3:
		return invalid("17\n");
	case 4:
		return invalid("4294967297\n");
	default:
		return garbage(rng);
	}
}

// The feature bits the class supports: the default of a new device.
inline std::atomic<unsigned long long> venet_supported{0};

inline Value features_value(Rng &rng)
{
	const unsigned long long all = venet_supported.load();
	std::array<char, 32> buf{};
	switch (uniform(rng, 0, 5)) {
	case 0:
	case 1: {
		const unsigned long long v = all & uniform(rng, 0, ~0ULL);
		(void)std::snprintf(buf.data(), buf.size(), "0x%llx", v);
		return valid(chance(rng, 50) ? buf.data() : buf.data() + 2, buf.data());
	}
	case 2:
		return valid("0", "0x0");
	case 3:
		if (~all != 0) {
			(void)std::snprintf(buf.data(), buf.size(), "0x%llx", ~all);
			return invalid(std::string(buf.data()) + "\n");
		}
		return garbage(rng);
	case 4:
		return invalid("0x1ffffffffffffffff\n");
	default:
		return garbage(rng);
	}
}

} // namespace cfs_fuzz

#endif
