// targeting-service: targeting rules per flag (port 8003).
#include "app.hpp"

int main() { return toggle::service_main<toggle::targeting::TargetingService>("targeting-service", 8003); }
