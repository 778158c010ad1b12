# Azure: connection strings and signatures (azure_*), Service Bus over AMQP 1.0 with Qpid Proton C++
# (servicebus_*), Cosmos DB Table API over libcurl (cosmos_table_*). Proton's headers are included
# only by these .cpp files.
find_package(CURL REQUIRED)
# Debian's libqpid-proton-cpp.pc requires .pc files Debian does not ship, so the libraries are
# found directly. The C library (libqpid-proton-core) is linked too: the receiver sets AMQP
# outcome details (modified/delivery-failed, a rejection's error) that the C++ API does not expose.
find_path(PROTON_CPP_INCLUDE_DIR proton/container.hpp REQUIRED)
find_library(PROTON_CPP_LIBRARY qpid-proton-cpp REQUIRED)
find_library(PROTON_CORE_LIBRARY NAMES qpid-proton-core libqpid-proton-core.so.10 REQUIRED)

target_sources(toggle_cloud PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/src/azure_connection_string.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/azure_signing.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/servicebus_connection.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/servicebus_sender.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/servicebus_receiver.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/cosmos_table_entity.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/cosmos_table_client.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/cosmos_table_batch.cpp
)
target_include_directories(toggle_cloud PRIVATE ${PROTON_CPP_INCLUDE_DIR})
target_link_libraries(toggle_cloud PRIVATE toggle_core
  ${PROTON_CPP_LIBRARY} ${PROTON_CORE_LIBRARY} CURL::libcurl OpenSSL::Crypto nlohmann_json::nlohmann_json)
