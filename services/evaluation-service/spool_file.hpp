// The format of an event spool file (EventSender, EVENT_SPOOL_DIR): one header line that lets a
// torn file (a crash of the machine mid-write) be told from a whole one, then the batch:
//   toggle-spool 1 <events> <bytes of the batch> <SHA-256 of the batch, hex>\n[{…},…]
// A file without the header is a bare batch, as earlier versions wrote.
#pragma once

#include <cstddef>
#include <string>

namespace toggle::evaluation {

struct SpoolFile {
  std::string batch;       // the JSON array, when intact
  std::size_t events = 0;  // as the header says (0 when it cannot be read)
  std::string problem;     // why the file cannot be sent; "" when intact
};

// The text of a spool file holding `batch` (a JSON array of `events` events).
std::string spool_file_text(const std::string& batch, std::size_t events);
// Reads a spool file's text; never throws. A bare batch is returned as is (its JSON is judged later).
SpoolFile read_spool_file(const std::string& text);

}  // namespace toggle::evaluation
