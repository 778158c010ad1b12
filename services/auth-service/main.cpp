// auth-service: issues, lists, revokes and validates API keys (port 8001).
#include "app.hpp"

int main() { return toggle::service_main<toggle::auth::AuthService>("auth-service", 8001); }
