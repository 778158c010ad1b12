// SemVer 2.0.0 versions for the semver_* operators: parsing and precedence (semver.org §11).
#pragma once

#include <optional>
#include <string_view>

namespace toggle::rules {

// A parsed version; the views point into the text given to parse_semver().
struct SemVer {
  std::string_view major, minor, patch;  // decimal digits, no leading zero (except "0"), any length
  std::string_view prerelease;           // after '-', dot-separated identifiers; empty when absent
  std::string_view build;                // after '+'; ignored by precedence
};

// MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] exactly as SemVer 2.0.0's grammar, plus one optional
// leading 'v' or 'V' ("v1.2.3" is how many apps and git tags spell versions). Anything else is
// not a version: "1.2", "1.2.3.4", "01.2.3", "1.2.3-01", "1.2.3-", " 1.2.3". Does not allocate.
std::optional<SemVer> parse_semver(std::string_view text) noexcept;

// SemVer 2.0.0 precedence: negative, zero or positive as a is lower than, equal to or higher than
// b. Numbers compare numerically (whatever their length), a pre-release is lower than its
// release, pre-release identifiers compare numeric < alphanumeric, and build metadata is ignored
// (1.0.0+a equals 1.0.0+b).
int compare_semver(const SemVer& a, const SemVer& b) noexcept;

}  // namespace toggle::rules
