// The parts of the SQL interface that do not depend on a backend.
#include "toggle/core/sql.hpp"

namespace toggle::sql {

bool Database::ping() {
  try {
    acquire()->exec("SELECT 1");
    return true;
  } catch (const Error&) {
    return false;
  }
}

const std::string& Row::text(std::size_t i) const {
  static const std::string empty;
  const auto& v = values.at(i);
  return v ? *v : empty;
}

std::int64_t Row::integer(std::size_t i) const { return values.at(i) ? std::stoll(*values[i]) : 0; }

bool Row::boolean(std::size_t i) const {
  const auto& v = values.at(i);
  return v && (*v == "1" || *v == "t" || *v == "true");
}

}  // namespace toggle::sql
