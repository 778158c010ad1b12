// analytics-service: evaluation events, stored once each, and queries over them (port 8005).
#include "app.hpp"

int main() { return toggle::service_main<toggle::analytics::AnalyticsService>("analytics-service", 8005); }
