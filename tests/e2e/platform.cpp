#include "platform.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <thread>

#include "toggle/core/json.hpp"

namespace e2e {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
  ::close(fd);
  return -1;
}

namespace {
bool accepts_connections(int port) {
  int fd = connect_loopback(port);
  if (fd >= 0) ::close(fd);
  return fd >= 0;
}
}  // namespace

RedisServer::RedisServer(std::vector<std::string> extra_args, bool tls)
    : port_(free_port()), extra_args_(std::move(extra_args)), tls_(tls) {
  char tmpl[] = "/tmp/toggle-redis-XXXXXX";
  dir_ = ::mkdtemp(tmpl);
  start();
}

RedisServer::~RedisServer() {
  stop();
  std::filesystem::remove_all(dir_);
}

void RedisServer::start() {
  if (pid_) return;
  std::string port = std::to_string(port_);
  pid_ = ::fork();
  if (pid_ == 0) {
    FILE* out = std::fopen((dir_ + "/redis.log").c_str(), "a");
    ::dup2(fileno(out), 1);
    ::dup2(fileno(out), 2);
    std::vector<std::string> args = {"redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                     "--dir", dir_};
    for (const auto& a : tls_ ? std::vector<std::string>{"--port", "0", "--tls-port", port}
                              : std::vector<std::string>{"--port", port})
      args.push_back(a);
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv("/usr/bin/redis-server", argv.data());
    std::_Exit(127);
  }
  if (!eventually([&] { return accepts_connections(port_); }, std::chrono::seconds(10)))
    throw std::runtime_error("redis-server did not start (is Debian's redis-server installed?)");
}

void RedisServer::stop() {
  if (!pid_) return;
  ::kill(pid_, SIGTERM);
  ::waitpid(pid_, nullptr, 0);
  pid_ = 0;
}

const std::vector<std::string>& Platform::services() {
  static const std::vector<std::string> names = {"auth-service", "flag-service", "targeting-service",
                                                 "evaluation-service", "analytics-service"};
  return names;
}

Platform::Platform(std::map<std::string, std::string> extra_env) : extra_env_(std::move(extra_env)) {
  char tmpl[] = "/tmp/toggle-e2e-XXXXXX";
  data_dir_ = ::mkdtemp(tmpl);
  for (const auto& s : services()) ports_[s] = free_port();
}

Platform::~Platform() {
  stop_all();
  std::filesystem::remove_all(data_dir_);
}

void Platform::stop_all() {
  while (!pids_.empty()) stop(pids_.begin()->first);
}

void Platform::set_env(const std::string& service, const std::string& key, const std::string& value) {
  service_env_[service][key] = value;
}

void Platform::add_replica(const std::string& service, const std::string& name) {
  ports_[name] = free_port();
  binary_[name] = service;
}

std::string Platform::url(const std::string& service) const {
  return "http://127.0.0.1:" + std::to_string(ports_.at(service));
}

std::map<std::string, std::string> Platform::env_for(const std::string& service) const {
  std::map<std::string, std::string> env = {
      {"PORT", std::to_string(ports_.at(service))},
      {"HOST", "127.0.0.1"},
      {"DATA_DIR", binary_.count(service) ? data_dir_ + "/" + service : data_dir_},
      {"HTTP_THREADS", "2"},
      {"AUTH_SERVICE_URL", url("auth-service")},
      {"FLAG_SERVICE_URL", url("flag-service")},
      {"TARGETING_SERVICE_URL", url("targeting-service")},
      {"ANALYTICS_SERVICE_URL", url("analytics-service")},
      {"MASTER_KEY", kMasterKey},
      {"SERVICE_API_KEY", kServiceKey},
      // Tests wait for events: keep analytics at normal priority on a machine busy with tests.
      {"ANALYTICS_IDLE_PRIORITY", "false"},
      {"PATH", std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin"},
  };
  for (const auto& [k, v] : extra_env_) env[k] = v;
  if (auto it = service_env_.find(service); it != service_env_.end())
    for (const auto& [k, v] : it->second) env[k] = v;
  return env;
}

pid_t Platform::spawn(const std::string& service) {
  std::string binary = std::string(TOGGLE_BIN_DIR) + "/" + (binary_.count(service) ? binary_.at(service) : service);
  std::string log = data_dir_ + "/" + service + ".log";
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env_for(service)) env_strings.push_back(k + "=" + v);
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    FILE* out = std::fopen(log.c_str(), "a");
    ::dup2(fileno(out), 1);
    ::dup2(fileno(out), 2);
    char* argv[] = {binary.data(), nullptr};
    ::execve(binary.c_str(), argv, envp.data());
    std::_Exit(127);
  }
  return pid;
}

int Platform::run_to_exit(const std::string& service, std::chrono::milliseconds limit) {
  pid_t pid = spawn(service);
  int status = 0;
  auto until = std::chrono::steady_clock::now() + limit;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > until) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

void Platform::start(const std::string& service) {
  pids_[service] = spawn(service);
  bool up = eventually(
      [&] {
        return client_.send({"GET", url(service) + "/health"}).status == 200 || !running(service);
      },
      std::chrono::seconds(15));
  if (!up || !running(service)) throw std::runtime_error(service + " did not start:\n" + log_tail(service));
}

void Platform::start_all() {
  for (const auto& s : services()) start(s);
}

bool Platform::running(const std::string& service) {
  auto it = pids_.find(service);
  if (it == pids_.end()) return false;
  int status = 0;
  if (::waitpid(it->second, &status, WNOHANG) == 0) return true;
  pids_.erase(it);
  return false;
}

int Platform::stop(const std::string& service) {
  auto it = pids_.find(service);
  if (it == pids_.end()) return -1;
  ::kill(it->second, SIGTERM);
  int status = 0;
  // A graceful stop takes well under the services' 10 s drain deadline; after 30 s, force it.
  for (int i = 0; i < 3000; ++i) {
    if (::waitpid(it->second, &status, WNOHANG) != 0) break;
    if (i == 2999) {
      ::kill(it->second, SIGKILL);
      ::waitpid(it->second, &status, 0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pids_.erase(it);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

void Platform::kill(const std::string& service) {
  auto it = pids_.find(service);
  if (it == pids_.end()) return;
  ::kill(it->second, SIGKILL);
  ::waitpid(it->second, nullptr, 0);
  pids_.erase(it);
}

std::string Platform::log_tail(const std::string& service, std::size_t lines) const {
  std::ifstream in(data_dir_ + "/" + service + ".log");
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(line);
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out;
  for (auto& l : tail) out += l + "\n";
  return out;
}

toggle::ClientResponse Platform::get(const std::string& service, const std::string& path, const std::string& key) {
  return send("GET", service, path, "", key);
}

toggle::ClientResponse Platform::send(const std::string& method, const std::string& service, const std::string& path,
                                      const std::string& body, const std::string& key) {
  toggle::ClientRequest req{method, url(service) + path, {}, body, std::chrono::milliseconds(5000)};
  if (!key.empty()) req.headers.emplace_back("Authorization", key);
  return client_.send(req);
}

int run_command(const std::map<std::string, std::string>& env, const std::vector<std::string>& argv,
                std::string* output) {
  auto quoted = [](const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
  };
  std::string command = "env";
  for (const auto& [k, v] : env) command += " " + quoted(k + "=" + v);
  for (const auto& arg : argv) command += " " + quoted(arg);
  command += " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + command);
  std::string text;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe)) text += buffer;
  int status = ::pclose(pipe);
  if (output) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int init_cloud(const std::string& provider, const std::map<std::string, std::string>& env, std::string* output) {
  auto with_binary = env;
  with_binary["ANALYTICS_SERVICE_BIN"] = std::string(TOGGLE_BIN_DIR) + "/analytics-service";
  return run_command(with_binary, {TOGGLE_INIT_CLOUD_SCRIPT, provider}, output);
}

double metric(Platform& platform, const std::string& service, const std::string& name) {
  auto body = platform.get(service, "/metrics", "").body;
  auto pos = body.find("\n" + name + " ");
  return pos == std::string::npos ? -1 : std::stod(body.substr(pos + name.size() + 2));
}

bool create_flag(Platform& platform, const std::string& name) {
  if (platform.send("POST", "flag-service", "/flags", R"({"name":")" + name + R"(","is_enabled":true})").status != 201)
    return false;
  return eventually([&] { return platform.get("evaluation-service", "/ready", "").status == 200; });
}

int evaluate_users(Platform& platform, const std::string& flag, const std::string& prefix, int n) {
  int served = 0;
  for (int i = 0; i < n; ++i)
    served += platform.get("evaluation-service", "/evaluate?flag_name=" + flag + "&user_id=" + prefix + std::to_string(i), "")
                  .status == 200;
  return served;
}

std::int64_t stored_events(Platform& platform, const std::string& flag, const std::string& analytics) {
  auto r = platform.get(analytics, "/summary?flag_name=" + flag);
  return r.status == 200 ? toggle::json::parse(r.body)["total"].get<std::int64_t>() : -1;
}

std::string each_stored_once(Platform& platform, const std::string& flag, int served, const std::string& analytics,
                             std::chrono::milliseconds limit) {
  eventually([&] { return stored_events(platform, flag, analytics) >= served; }, limit);
  std::string problems;
  auto expect = [&](const std::string& what, std::int64_t got) {
    if (got != served) problems += what + " " + std::to_string(got) + " (served " + std::to_string(served) + "); ";
  };
  expect("summary total", stored_events(platform, flag, analytics));
  auto reply = platform.get(analytics, "/events?flag_name=" + flag + "&limit=10000");
  if (reply.status != 200) return problems + "GET /events answered " + std::to_string(reply.status) + " " + reply.body;
  auto events = toggle::json::parse(reply.body);
  std::set<std::string> ids, users;
  for (const auto& e : events) ids.insert(e["event_id"].get<std::string>()), users.insert(e["user_id"].get<std::string>());
  expect("events listed", static_cast<std::int64_t>(events.size()));
  expect("distinct event ids", static_cast<std::int64_t>(ids.size()));
  expect("distinct users", static_cast<std::int64_t>(users.size()));
  return problems;
}

std::string log_tails(const Platform& platform, const std::vector<std::string>& services) {
  std::string out;
  for (const auto& s : services) out += "--- " + s + " log\n" + platform.log_tail(s);
  return out;
}

}  // namespace e2e
