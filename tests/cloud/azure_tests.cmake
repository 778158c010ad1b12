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

# Shared servers for a ctest run, like the `postgres` fixture: azurite (Table API) and RabbitMQ
# (AMQP 1.0 broker) start before their first test and stop after their last. A test binary run
# by hand starts its own (tests/support/azure_servers.hpp).
set(TOGGLE_TEST_AZURITE_STATE ${CMAKE_BINARY_DIR}/tests/azurite-server)
set(TOGGLE_TEST_RABBITMQ_STATE ${CMAKE_BINARY_DIR}/tests/rabbitmq-server)
set(TOGGLE_TEST_SUPPORT_DIR ${PROJECT_SOURCE_DIR}/tests/support)
add_test(NAME azurite.start COMMAND ${TOGGLE_TEST_SUPPORT_DIR}/azurite.sh start ${TOGGLE_TEST_AZURITE_STATE})
add_test(NAME azurite.stop COMMAND ${TOGGLE_TEST_SUPPORT_DIR}/azurite.sh stop ${TOGGLE_TEST_AZURITE_STATE})
set_tests_properties(azurite.start PROPERTIES FIXTURES_SETUP azurite TIMEOUT 120)
set_tests_properties(azurite.stop PROPERTIES FIXTURES_CLEANUP azurite TIMEOUT 60)
add_test(NAME rabbitmq.start COMMAND ${TOGGLE_TEST_SUPPORT_DIR}/rabbitmq.sh start ${TOGGLE_TEST_RABBITMQ_STATE})
add_test(NAME rabbitmq.stop COMMAND ${TOGGLE_TEST_SUPPORT_DIR}/rabbitmq.sh stop ${TOGGLE_TEST_RABBITMQ_STATE})
set_tests_properties(rabbitmq.start PROPERTIES FIXTURES_SETUP rabbitmq TIMEOUT 300)
set_tests_properties(rabbitmq.stop PROPERTIES FIXTURES_CLEANUP rabbitmq TIMEOUT 60)

# The Table client against azurite.
add_executable(azure_table_tests ${CMAKE_CURRENT_LIST_DIR}/azure_table_azurite_test.cpp)
target_include_directories(azure_table_tests PRIVATE ${TOGGLE_TEST_SUPPORT_DIR})
target_compile_definitions(azure_table_tests PRIVATE TOGGLE_TEST_SUPPORT_DIR="${TOGGLE_TEST_SUPPORT_DIR}")
target_link_libraries(azure_table_tests PRIVATE toggle_cloud GTest::gtest_main)
gtest_discover_tests(azure_table_tests TEST_PREFIX "azure." DISCOVERY_TIMEOUT 30
  PROPERTIES TIMEOUT 120 FIXTURES_REQUIRED azurite ENVIRONMENT TOGGLE_TEST_AZURITE_STATE=${TOGGLE_TEST_AZURITE_STATE})

# The Service Bus client: the production path against the project's stand-in (one per test),
# and the development-emulator mode against RabbitMQ's AMQP 1.0 plugin.
foreach(suite servicebus_standin servicebus_rabbitmq)
  add_executable(azure_${suite}_tests ${CMAKE_CURRENT_LIST_DIR}/azure_${suite}_test.cpp)
  target_include_directories(azure_${suite}_tests PRIVATE ${TOGGLE_TEST_SUPPORT_DIR})
  target_compile_definitions(azure_${suite}_tests PRIVATE TOGGLE_TEST_SUPPORT_DIR="${TOGGLE_TEST_SUPPORT_DIR}")
  target_link_libraries(azure_${suite}_tests PRIVATE toggle_cloud nlohmann_json::nlohmann_json GTest::gtest_main)
endforeach()
gtest_discover_tests(azure_servicebus_standin_tests TEST_PREFIX "azure." DISCOVERY_TIMEOUT 30 PROPERTIES TIMEOUT 180)
gtest_discover_tests(azure_servicebus_rabbitmq_tests TEST_PREFIX "azure." DISCOVERY_TIMEOUT 30
  PROPERTIES TIMEOUT 180 FIXTURES_REQUIRED rabbitmq ENVIRONMENT TOGGLE_TEST_RABBITMQ_STATE=${TOGGLE_TEST_RABBITMQ_STATE})
