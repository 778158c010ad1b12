#include "toggle/core/router.hpp"

namespace toggle {
namespace {

std::vector<std::string> split_pattern(std::string_view pattern) {
  std::vector<std::string> out;
  std::size_t start = 1;  // patterns begin with '/'
  while (start <= pattern.size()) {
    auto slash = pattern.find('/', start);
    if (slash == std::string_view::npos) slash = pattern.size();
    out.emplace_back(pattern.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

bool is_param(const std::string& segment) { return segment.size() > 2 && segment.front() == '{'; }

}  // namespace

Router::Route& Router::route_for(std::string_view pattern) {
  auto segments = split_pattern(pattern);
  for (auto& r : routes_)
    if (r.segments == segments) return r;
  return routes_.emplace_back(Route{std::move(segments), {}, std::nullopt});
}

void Router::add(Method method, std::string_view pattern, Handler handler, RouteOptions options) {
  route_for(pattern).methods.emplace_back(method, Endpoint{std::move(handler), options});
}

void Router::any(std::string_view pattern, Handler handler, RouteOptions options) {
  route_for(pattern).any = Endpoint{std::move(handler), options};
}

Router::Match Router::match(Method method, std::string_view path) const {
  Match result;
  std::string allow;
  for (const auto& route : routes_) {
    // Walk the path's segments against the pattern's; parameters match any non-empty segment.
    result.params.clear();
    std::string_view rest = path.substr(1);
    bool ok = true;
    for (std::size_t i = 0; i < route.segments.size() && ok; ++i) {
      auto slash = rest.find('/');
      bool last = i + 1 == route.segments.size();
      if ((slash == std::string_view::npos) != last) ok = false;
      if (!ok) break;
      std::string_view segment = rest.substr(0, slash);
      rest = last ? std::string_view{} : rest.substr(slash + 1);
      const auto& want = route.segments[i];
      if (is_param(want)) {
        if (segment.empty())
          ok = false;
        else
          result.params.emplace_back(std::string_view(want).substr(1, want.size() - 2), segment);
      } else if (segment != want) {
        ok = false;
      }
    }
    if (!ok) continue;
    const Endpoint* get = nullptr;
    for (const auto& [m, endpoint] : route.methods) {
      result.cors = result.cors || endpoint.options.cors;
      if (m == method) {
        result.endpoint = &endpoint;
        return result;
      }
      if (m == Method::get) get = &endpoint;
    }
    if (method == Method::head && get) {
      result.endpoint = get;
      return result;
    }
    if (route.any) {
      result.endpoint = &*route.any;
      return result;
    }
    // The path exists for other methods; a later route of the same shape may still take this one.
    for (const auto& entry : route.methods) {
      if (!allow.empty()) allow += ", ";
      allow += to_string(entry.first);
      if (entry.first == Method::get) allow += ", HEAD";
    }
  }
  result.params.clear();
  result.allow = std::move(allow);
  return result;
}

}  // namespace toggle
