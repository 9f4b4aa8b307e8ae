//! Database adapter (sea-orm, SQLite and PostgreSQL): empty until the persistence issue fills it.
