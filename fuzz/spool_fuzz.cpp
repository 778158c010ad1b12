// Event spool files (evaluation-service's EVENT_SPOOL_DIR) as read back after a crash or a power
// loss: any bytes, torn anywhere. read_spool_file() decides whether a file is whole; a whole one
// is parsed as the batch analytics-service would receive.
// Properties: no crash, leak or undefined behaviour; a file the sender writes reads back whole
// with its batch unchanged; a torn copy of it (any proper prefix) is never sent.
#include "fuzz.hpp"
#include "spool_file.hpp"
#include "toggle/core/event.hpp"

using toggle::evaluation::read_spool_file;
using toggle::evaluation::spool_file_text;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(fuzz::text_of(data, size));
  auto file = read_spool_file(text);
  if (file.problem.empty()) {
    try {
      toggle::parse_event_batch(file.batch);
    } catch (const std::exception&) {
      // Not a batch: the sender quarantines the file.
    }
  }
  auto written = spool_file_text(text, size);
  auto back = read_spool_file(written);
  fuzz::require(back.problem.empty() && back.batch == text && back.events == size, "spool file round trip");
  auto torn = read_spool_file(written.substr(0, written.size() - 1 - size % (written.size() - 1)));
  bool sendable = torn.problem.empty();
  if (sendable) {  // shorter than the header's magic: read as a bare batch, which must not parse
    try {
      toggle::parse_event_batch(torn.batch);
    } catch (const std::exception&) {
      sendable = false;
    }
  }
  fuzz::require(!sendable, "a torn spool file is never sent");
  return 0;
}
