// evaluation-service: the hot path, GET /evaluate (port 8004).
#include "app.hpp"

int main() { return toggle::service_main<toggle::evaluation::EvaluationService>("evaluation-service", 8004); }
