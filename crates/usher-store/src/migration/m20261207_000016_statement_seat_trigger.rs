//! PostgreSQL counts the seats a multi-row insert of users takes once per statement (R1).
//!
//! The row trigger of `m20261202_000006_seat_counters` updated the pool row once per inserted
//! user. An import's batch of 1,000 users therefore wrote 1,000 versions of the same row,
//! about half the batch's database time. Inserts now run a statement trigger that reads the
//! statement's new rows (a transition table) and adds each pool's count in one update. Deletes
//! and updates keep the row trigger: they change one user at a time. SQLite has no statement
//! triggers and keeps its row triggers; its in-process updates cost little.

use sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName, Debug)]
pub(crate) struct Migration;

const UP: [&str; 4] = [
    "DROP TRIGGER seats_user_write ON users",
    "CREATE TRIGGER seats_user_delete AFTER DELETE ON users \
     FOR EACH ROW EXECUTE FUNCTION usher_user_seats()",
    "CREATE FUNCTION usher_user_seats_inserted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
     UPDATE seat_pools p SET used = p.used + n.taken \
     FROM (SELECT root_id, user_type_id, count(*) AS taken FROM inserted_users \
           WHERE state = 'active' GROUP BY root_id, user_type_id) n \
     WHERE p.root_id = n.root_id AND p.user_type_id = n.user_type_id; \
     RETURN NULL; END $$",
    "CREATE TRIGGER seats_user_insert AFTER INSERT ON users REFERENCING NEW TABLE AS inserted_users \
     FOR EACH STATEMENT EXECUTE FUNCTION usher_user_seats_inserted()",
];

const DOWN: [&str; 4] = [
    "DROP TRIGGER seats_user_insert ON users",
    "DROP FUNCTION usher_user_seats_inserted",
    "DROP TRIGGER seats_user_delete ON users",
    "CREATE TRIGGER seats_user_write AFTER INSERT OR DELETE ON users \
     FOR EACH ROW EXECUTE FUNCTION usher_user_seats()",
];

async fn run(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    if manager.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    let connection = manager.get_connection();
    for statement in statements {
        connection.execute_unprepared(statement).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, &UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, &DOWN).await
    }
}
