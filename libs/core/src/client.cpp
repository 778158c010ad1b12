#include "toggle/core/client.hpp"

#include <curl/curl.h>

#include <memory>
#include <mutex>
#include <stdexcept>

namespace toggle {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// Easy handles are reused per thread so that keep-alive connections are reused too.
CURL* handle(std::size_t index) {
  thread_local std::vector<std::unique_ptr<CURL, EasyDeleter>> handles;
  global_init();
  while (handles.size() <= index) {
    CURL* c = curl_easy_init();
    if (!c) throw std::runtime_error("curl_easy_init failed");
    handles.emplace_back(c);
  }
  CURL* c = handles[index].get();
  curl_easy_reset(c);
  return c;
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

int on_progress(void* cancel, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(cancel)->load() ? 1 : 0;  // non-zero aborts the transfer
}

std::unique_ptr<curl_slist, SlistDeleter> prepare(CURL* c, const ClientRequest& req, ClientResponse& res) {
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min(1000L, static_cast<long>(req.timeout.count())));
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &res.body);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  if (req.method == "HEAD") curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  if (req.cancel) {
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(req.cancel));
  }
  curl_slist* list = nullptr;
  for (auto& [name, value] : req.headers) list = curl_slist_append(list, (name + ": " + value).c_str());
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
  if (!req.body.empty()) {
    list = curl_slist_append(list, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  return std::unique_ptr<curl_slist, SlistDeleter>(list);
}

void finish(CURL* c, CURLcode code, ClientResponse& res) {
  if (code != CURLE_OK) {
    res.status = 0;
    res.error = curl_easy_strerror(code);
    res.timed_out = code == CURLE_OPERATION_TIMEDOUT;
    return;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  res.status = static_cast<int>(status);
  char* type = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type) res.content_type = type;
}

}  // namespace

ClientResponse HttpClient::send(const ClientRequest& request) const {
  ClientResponse res;
  CURL* c = handle(0);
  auto headers = prepare(c, request, res);
  finish(c, curl_easy_perform(c), res);
  return res;
}

std::vector<ClientResponse> HttpClient::send_all(const std::vector<ClientRequest>& requests) const {
  std::vector<ClientResponse> results(requests.size());
  if (requests.size() == 1) {
    results[0] = send(requests[0]);
    return results;
  }
  thread_local std::unique_ptr<CURLM, decltype(&curl_multi_cleanup)> multi(nullptr, &curl_multi_cleanup);
  global_init();
  if (!multi) multi.reset(curl_multi_init());
  std::vector<std::unique_ptr<curl_slist, SlistDeleter>> lists;
  std::vector<CURL*> easies;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    CURL* c = handle(i);
    lists.push_back(prepare(c, requests[i], results[i]));
    curl_easy_setopt(c, CURLOPT_PRIVATE, reinterpret_cast<void*>(i));
    curl_multi_add_handle(multi.get(), c);
    easies.push_back(c);
  }
  int running = 0;
  do {
    curl_multi_perform(multi.get(), &running);
    if (running) curl_multi_poll(multi.get(), nullptr, 0, 100, nullptr);
  } while (running);
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi.get(), &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    void* index = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &index);
    finish(msg->easy_handle, msg->data.result, results[reinterpret_cast<std::size_t>(index)]);
  }
  for (CURL* c : easies) curl_multi_remove_handle(multi.get(), c);
  return results;
}

}  // namespace toggle
