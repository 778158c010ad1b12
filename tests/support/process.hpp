// A service executable run as a child process for a test: its environment given, its output in a
// log file, stopped with SIGTERM (SIGKILL if it does not exit in time) at the latest when the
// object is destroyed.
//
//   testsupport::ServiceProcess flag("flag-service", {{"PORT", "0"}, ...}, dir + "/flag.log");
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

#ifndef TOGGLE_BIN_DIR
#error "TOGGLE_BIN_DIR must name the folder of the service executables"
#endif

namespace testsupport {

// A TCP port on 127.0.0.1 that nothing listens on right now.
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

class ServiceProcess {
 public:
  // `env` is added to (and overrides) this process's environment.
  ServiceProcess(const std::string& service, const std::map<std::string, std::string>& env, std::string log_path)
      : service_(service), log_path_(std::move(log_path)) {
    std::map<std::string, std::string> all;
    for (char** e = environ; *e; ++e) {
      std::string kv = *e;
      auto eq = kv.find('=');
      if (eq != std::string::npos) all[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (const auto& [k, v] : env) all[k] = v;
    std::vector<std::string> strings;
    for (const auto& [k, v] : all) strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& s : strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string binary = std::string(TOGGLE_BIN_DIR) + "/" + service;
    char* argv[] = {binary.data(), nullptr};

    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::close(fd);
      }
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::execve(binary.c_str(), argv, envp.data());
      ::_exit(127);
    }
  }
  ~ServiceProcess() { stop(); }
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  // SIGTERM, then SIGKILL after `grace`; the exit status (or -signal), or 0 if not running.
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(10000)) {
    if (pid_ <= 0) return 0;
    ::kill(pid_, SIGTERM);
    auto until = std::chrono::steady_clock::now() + grace;
    int status = 0;
    for (;;) {
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || r < 0) break;
      if (std::chrono::steady_clock::now() > until) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

  // Still running (not exited, not crashed).
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == 0) return true;
    pid_ = 0;
    return false;
  }

  std::string log_tail(std::size_t lines = 30) const {
    std::ifstream in(log_path_);
    std::vector<std::string> all;
    for (std::string line; std::getline(in, line);) all.push_back(line);
    std::ostringstream out;
    for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out << all[i] << "\n";
    return out.str();
  }
  const std::string& service() const { return service_; }

 private:
  std::string service_, log_path_;
  pid_t pid_ = 0;
};

}  // namespace testsupport
