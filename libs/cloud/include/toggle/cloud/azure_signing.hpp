// The two Azure signatures the clients need, as pure functions so that they can be checked
// against values computed independently:
// - Service Bus SAS tokens (Shared Access Signature), put to `$cbs` during the CBS handshake;
// - Table service SharedKey / SharedKeyLite request signatures (Cosmos DB Table API, Storage, azurite).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace toggle::cloud::azure {

// Percent-encodes every byte except A-Z a-z 0-9 - _ . ~ (upper-case hex): the encoding of the
// `sr` and `sig` fields of a SAS token.
std::string url_encode(std::string_view text);
std::string base64_encode(std::string_view bytes);
// std::nullopt when `text` is not padded, canonical base64.
std::optional<std::string> base64_decode(std::string_view text);
// Raw 32-byte HMAC-SHA256.
std::string hmac_sha256(std::string_view key, std::string_view data);

// "SharedAccessSignature sr=<url-encoded resource>&sig=<url-encoded base64 HMAC-SHA256(key,
// url-encoded resource + "\n" + expiry)>&se=<expiry>&skn=<key name>". The key is used as given
// (its text, not base64-decoded), as Service Bus does. `expiry` is in seconds since 1970.
std::string servicebus_sas_token(std::string_view resource_uri, std::string_view key_name, std::string_view key,
                                 std::int64_t expiry);

// "Sun, 11 Oct 2009 21:49:13 GMT" (RFC 1123, always English names): x-ms-date.
std::string http_date(std::chrono::system_clock::time_point time);

// The Table service's strings to sign:
//   SharedKey      VERB \n Content-MD5 \n Content-Type \n Date \n CanonicalizedResource
//   SharedKeyLite  Date \n CanonicalizedResource
// Date is the x-ms-date value. CanonicalizedResource is "/" + account + the request's path as
// sent (percent-encoded), plus "?comp=<value>" when the query has `comp`. With path-style URLs
// (azurite) the path already starts with the account, which therefore appears twice.
std::string table_shared_key_string_to_sign(std::string_view method, std::string_view content_md5,
                                            std::string_view content_type, std::string_view date,
                                            std::string_view canonicalized_resource);
std::string table_shared_key_lite_string_to_sign(std::string_view date, std::string_view canonicalized_resource);
// "<scheme> <account>:<base64 HMAC-SHA256(base64-decoded key, string_to_sign)>". `decoded_key`
// is the account key already decoded from base64.
std::string table_authorization(std::string_view scheme, std::string_view account, std::string_view decoded_key,
                                std::string_view string_to_sign);

}  // namespace toggle::cloud::azure
