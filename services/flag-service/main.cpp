// flag-service: flag definitions and the kill switch (port 8002).
#include "app.hpp"

int main() { return toggle::service_main<toggle::flags::FlagService>("flag-service", 8002); }
