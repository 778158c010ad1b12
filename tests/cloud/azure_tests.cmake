# Azure: unit tests (connection strings, signatures, entity JSON, $batch) and integration tests
# against real servers started on loopback by tests/support (see azure_emulators.hpp).
add_executable(azure_unit_tests
  ${CMAKE_CURRENT_LIST_DIR}/azure_connection_string_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/azure_signing_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/cosmos_table_entity_test.cpp
)
target_include_directories(azure_unit_tests PRIVATE ${PROJECT_SOURCE_DIR}/libs/cloud/src)
target_link_libraries(azure_unit_tests PRIVATE toggle_cloud nlohmann_json::nlohmann_json GTest::gtest_main)
gtest_discover_tests(azure_unit_tests TEST_PREFIX "azure." DISCOVERY_TIMEOUT 30)
