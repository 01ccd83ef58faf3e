-- One database per service. The postgres image runs this once, on an empty
-- data directory, as POSTGRES_USER (fulfil), who therefore owns them all.
CREATE DATABASE "order";
CREATE DATABASE payment;
CREATE DATABASE logistics;
CREATE DATABASE notify;
CREATE DATABASE returns;
