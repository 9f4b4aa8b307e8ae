//! Seat pools keep their own figures (R1). A pool row counts the active users of its type
//! (`used`) and the pending invitations that reserve a seat (`reserved`), kept by triggers in
//! the statement that changes a user or an invitation, so checking a seat reads one row
//! instead of counting every user of the type.
//!
//! An invitation stops reserving when it expires, which no statement marks. `reserved`
//! therefore counts the pending invitations that expire after `swept_at`; whoever locks the
//! pool later subtracts those that expired since and moves `swept_at` on (see
//! `SqlTx::sweep`). A write that ends a reservation subtracts it only while it is still
//! counted (`expires_at > swept_at`), read from the pool row it updates, so a sweep and a
//! redemption never both take the same invitation off.
//!
//! Types that consume no seat keep no pool: their writes touch no pool row.

use sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName, Debug)]
pub(crate) struct Migration;

/// What both backends run first: the counters, filled from the rows they count, as swept at
/// time 0 (the first lock of a pool sweeps the invitations that have expired).
const COUNTERS: [&str; 5] = [
    "ALTER TABLE seat_pools ADD COLUMN used BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE seat_pools ADD COLUMN reserved BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE seat_pools ADD COLUMN swept_at BIGINT NOT NULL DEFAULT 0",
    "DELETE FROM seat_pools WHERE user_type_id IN (SELECT id FROM user_types WHERE NOT consumes_seat)",
    "UPDATE seat_pools SET \
     used = (SELECT count(*) FROM users u WHERE u.root_id = seat_pools.root_id \
         AND u.user_type_id = seat_pools.user_type_id AND u.state = 'active'), \
     reserved = (SELECT count(*) FROM invitations i WHERE i.root_id = seat_pools.root_id \
         AND i.user_type_id = seat_pools.user_type_id AND i.state = 'pending'), \
     swept_at = 0",
];

const SQLITE_TRIGGERS: [&str; 6] = [
    "CREATE TRIGGER seats_user_insert AFTER INSERT ON users WHEN NEW.state = 'active' BEGIN \
     UPDATE seat_pools SET used = used + 1 \
     WHERE root_id = NEW.root_id AND user_type_id = NEW.user_type_id; END",
    "CREATE TRIGGER seats_user_delete AFTER DELETE ON users WHEN OLD.state = 'active' BEGIN \
     UPDATE seat_pools SET used = used - 1 \
     WHERE root_id = OLD.root_id AND user_type_id = OLD.user_type_id; END",
    "CREATE TRIGGER seats_user_update AFTER UPDATE OF state, user_type_id ON users \
     WHEN OLD.state IS NOT NEW.state OR OLD.user_type_id IS NOT NEW.user_type_id BEGIN \
     UPDATE seat_pools SET used = used - 1 \
     WHERE root_id = OLD.root_id AND user_type_id = OLD.user_type_id AND OLD.state = 'active'; \
     UPDATE seat_pools SET used = used + 1 \
     WHERE root_id = NEW.root_id AND user_type_id = NEW.user_type_id AND NEW.state = 'active'; END",
    "CREATE TRIGGER seats_invitation_insert AFTER INSERT ON invitations WHEN NEW.state = 'pending' BEGIN \
     UPDATE seat_pools SET reserved = reserved + 1 \
     WHERE root_id = NEW.root_id AND user_type_id = NEW.user_type_id AND NEW.expires_at > swept_at; END",
    "CREATE TRIGGER seats_invitation_delete AFTER DELETE ON invitations WHEN OLD.state = 'pending' BEGIN \
     UPDATE seat_pools SET reserved = reserved - 1 \
     WHERE root_id = OLD.root_id AND user_type_id = OLD.user_type_id AND OLD.expires_at > swept_at; END",
    "CREATE TRIGGER seats_invitation_update AFTER UPDATE OF state, expires_at, user_type_id ON invitations \
     WHEN OLD.state IS NOT NEW.state OR OLD.expires_at IS NOT NEW.expires_at \
     OR OLD.user_type_id IS NOT NEW.user_type_id BEGIN \
     UPDATE seat_pools SET reserved = reserved - 1 \
     WHERE root_id = OLD.root_id AND user_type_id = OLD.user_type_id \
     AND OLD.state = 'pending' AND OLD.expires_at > swept_at; \
     UPDATE seat_pools SET reserved = reserved + 1 \
     WHERE root_id = NEW.root_id AND user_type_id = NEW.user_type_id \
     AND NEW.state = 'pending' AND NEW.expires_at > swept_at; END",
];

const POSTGRES_TRIGGERS: [&str; 6] = [
    "CREATE FUNCTION usher_user_seats() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
     IF TG_OP <> 'INSERT' THEN IF OLD.state = 'active' THEN \
       UPDATE seat_pools SET used = used - 1 \
       WHERE root_id = OLD.root_id AND user_type_id = OLD.user_type_id; \
     END IF; END IF; \
     IF TG_OP <> 'DELETE' THEN IF NEW.state = 'active' THEN \
       UPDATE seat_pools SET used = used + 1 \
       WHERE root_id = NEW.root_id AND user_type_id = NEW.user_type_id; \
     END IF; END IF; \
     RETURN NULL; END $$",
    "CREATE TRIGGER seats_user_write AFTER INSERT OR DELETE ON users \
     FOR EACH ROW EXECUTE FUNCTION usher_user_seats()",
    "CREATE TRIGGER seats_user_update AFTER UPDATE OF state, user_type_id ON users FOR EACH ROW \
     WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.user_type_id IS DISTINCT FROM NEW.user_type_id) \
     EXECUTE FUNCTION usher_user_seats()",
    "CREATE FUNCTION usher_invitation_seats() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
     IF TG_OP <> 'INSERT' THEN IF OLD.state = 'pending' THEN \
       UPDATE seat_pools SET reserved = reserved - 1 \
       WHERE root_id = OLD.root_id AND user_type_id = OLD.user_type_id AND OLD.expires_at > swept_at; \
     END IF; END IF; \
     IF TG_OP <> 'DELETE' THEN IF NEW.state = 'pending' THEN \
       UPDATE seat_pools SET reserved = reserved + 1 \
       WHERE root_id = NEW.root_id AND user_type_id = NEW.user_type_id AND NEW.expires_at > swept_at; \
     END IF; END IF; \
     RETURN NULL; END $$",
    "CREATE TRIGGER seats_invitation_write AFTER INSERT OR DELETE ON invitations \
     FOR EACH ROW EXECUTE FUNCTION usher_invitation_seats()",
    "CREATE TRIGGER seats_invitation_update AFTER UPDATE OF state, expires_at, user_type_id ON invitations \
     FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.expires_at IS DISTINCT FROM NEW.expires_at \
     OR OLD.user_type_id IS DISTINCT FROM NEW.user_type_id) \
     EXECUTE FUNCTION usher_invitation_seats()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let triggers: &[&str] = match manager.get_database_backend() {
            DatabaseBackend::Postgres => &POSTGRES_TRIGGERS,
            _ => &SQLITE_TRIGGERS,
        };
        let connection = manager.get_connection();
        for statement in COUNTERS.iter().chain(triggers) {
            connection.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = manager.get_database_backend() == DatabaseBackend::Postgres;
        let mut statements = if postgres {
            vec![
                "DROP TRIGGER seats_user_write ON users",
                "DROP TRIGGER seats_user_update ON users",
                "DROP TRIGGER seats_invitation_write ON invitations",
                "DROP TRIGGER seats_invitation_update ON invitations",
                "DROP FUNCTION usher_user_seats",
                "DROP FUNCTION usher_invitation_seats",
            ]
        } else {
            vec![
                "DROP TRIGGER seats_user_insert",
                "DROP TRIGGER seats_user_delete",
                "DROP TRIGGER seats_user_update",
                "DROP TRIGGER seats_invitation_insert",
                "DROP TRIGGER seats_invitation_delete",
                "DROP TRIGGER seats_invitation_update",
            ]
        };
        statements.extend([
            "ALTER TABLE seat_pools DROP COLUMN swept_at",
            "ALTER TABLE seat_pools DROP COLUMN reserved",
            "ALTER TABLE seat_pools DROP COLUMN used",
        ]);
        let connection = manager.get_connection();
        for statement in statements {
            connection.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}
