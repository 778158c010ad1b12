-- PostgreSQL for the apps (docker-compose.yml, service postgres-apps): flag-service's database,
-- flags_db, is made by POSTGRES_DB; this makes targeting-service's next to it. Each service creates
-- its own tables at start (numbered migrations), so nothing else belongs here.
CREATE DATABASE targeting_db;
