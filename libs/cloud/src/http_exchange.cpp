#include "http_exchange.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace toggle::cloud::detail {
namespace {

using Clock = std::chrono::steady_clock;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One multi handle per thread, with its connection cache, and the easy handles it reuses.
struct ThreadHandles {
  CURLM* multi = nullptr;
  std::vector<CURL*> idle;
  ThreadHandles() {
    global_init();
    multi = curl_multi_init();
    if (!multi) throw std::runtime_error("curl_multi_init failed");
  }
  ~ThreadHandles() {
    for (CURL* c : idle) curl_easy_cleanup(c);
    curl_multi_cleanup(multi);
  }
  CURL* take() {
    if (idle.empty()) {
      CURL* c = curl_easy_init();
      if (!c) throw std::runtime_error("curl_easy_init failed");
      return c;
    }
    CURL* c = idle.back();
    idle.pop_back();
    curl_easy_reset(c);
    return c;
  }
};

ThreadHandles& thread_handles() {
  thread_local ThreadHandles handles;
  return handles;
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* exchange) {
  static_cast<HttpExchange*>(exchange)->response_body.append(data, size * n);
  return size * n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* exchange) {
  std::string_view line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    static_cast<HttpExchange*>(exchange)->response_headers.emplace_back(std::move(name), std::string(value));
  }
  return size * n;
}

// Prepares `c` for `ex`; returns the header list to free when the transfer ends.
curl_slist* prepare(CURL* c, HttpExchange& ex, long timeout_ms) {
  curl_easy_setopt(c, CURLOPT_URL, ex.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 5000L));
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);  // long polls through NAT gateways
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &ex);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &ex);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, ex.body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(ex.body.size()));
  curl_easy_setopt(c, CURLOPT_PRIVATE, &ex);
  if (ex.sign) {
    // libcurl computes the signature over the method, URL, the headers set here (plus Host and the
    // X-Amz-Date it adds) and the body. Headers removed with an empty "Name:" entry would be
    // signed but not sent (curl 7.88), so none are used: libcurl sends no Expect for bodies below
    // 1 MiB, and AWS ignores an unsigned Expect anyway.
    std::string scope = "aws:amz:" + ex.sign->region + ":" + ex.sign->service;
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, scope.c_str());  // copied by libcurl
    curl_easy_setopt(c, CURLOPT_USERNAME, ex.sign->access_key_id.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, ex.sign->secret.c_str());
  }
  curl_slist* list = nullptr;
  for (const auto& h : ex.headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  return list;
}

void finish(CURL* c, CURLcode code, HttpExchange& ex) {
  if (code != CURLE_OK) {
    ex.transport_failed = true;
    ex.timed_out = code == CURLE_OPERATION_TIMEDOUT;
    ex.error = curl_easy_strerror(code);
    return;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  ex.status = static_cast<int>(status);
}

}  // namespace

std::string_view HttpExchange::header(std::string_view lower_name) const {
  for (const auto& [name, value] : response_headers)
    if (name == lower_name) return value;
  return {};
}

void perform(std::vector<HttpExchange*>& exchanges, Deadline deadline, std::size_t max_parallel,
             const std::atomic<bool>* cancel) {
  ThreadHandles& handles = thread_handles();
  CURLM* multi = handles.multi;
  max_parallel = std::max<std::size_t>(1, max_parallel);
  std::vector<std::pair<CURL*, curl_slist*>> running;
  std::size_t next = 0;

  auto release = [&](CURL* c) {
    auto it = std::find_if(running.begin(), running.end(), [c](const auto& r) { return r.first == c; });
    curl_multi_remove_handle(multi, c);
    curl_slist_free_all(it->second);
    running.erase(it);
    handles.idle.push_back(c);
  };

  while (next < exchanges.size() || !running.empty()) {
    // Start what the parallelism allows; what cannot start before the deadline times out unsent.
    while (next < exchanges.size() && running.size() < max_parallel) {
      HttpExchange& ex = *exchanges[next++];
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0 || (cancel && cancel->load())) {
        ex.transport_failed = true;
        ex.cancelled = cancel && cancel->load();
        ex.timed_out = !ex.cancelled;
        ex.error = ex.cancelled ? "cancelled before it was sent" : "the deadline passed before the request was sent";
        continue;
      }
      CURL* c = handles.take();
      curl_slist* list = prepare(c, ex, static_cast<long>(left));
      running.emplace_back(c, list);
      curl_multi_add_handle(multi, c);
    }
    if (running.empty()) break;

    int still_running = 0;
    curl_multi_perform(multi, &still_running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      void* ex = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &ex);
      CURL* done = msg->easy_handle;
      finish(done, msg->data.result, *static_cast<HttpExchange*>(ex));
      release(done);
    }
    if (cancel && cancel->load()) {
      while (!running.empty()) {
        CURL* c = running.back().first;
        void* ex = nullptr;
        curl_easy_getinfo(c, CURLINFO_PRIVATE, &ex);
        auto* exchange = static_cast<HttpExchange*>(ex);
        exchange->transport_failed = true;
        exchange->cancelled = true;
        exchange->error = "cancelled";
        release(c);
      }
      continue;  // the rest are marked cancelled unsent
    }
    if (!running.empty() && still_running > 0) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
}

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

}  // namespace toggle::cloud::detail
