// analytics-service: evaluation events, stored once each, and queries over them (port 8005).
//   analytics-service                 serve
//   analytics-service --init-cloud    create the cloud pipeline's queues and tables (CLOUD_PROVIDER
//                                     and the same variables as the service), then exit
#include <cstring>
#include <iostream>

#include "app.hpp"
#include "toggle/cloud/pipeline.hpp"

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--init-cloud") == 0) return toggle::cloud::init_cloud_main(std::cout, std::cerr);
  if (argc > 1) {
    std::cerr << "usage: analytics-service [--init-cloud]\n";
    return 2;
  }
  return toggle::service_main<toggle::analytics::AnalyticsService>("analytics-service", 8005);
}
