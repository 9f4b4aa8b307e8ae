//! The console's one catalogue: every string a screen shows, in English and German. Each entry
//! carries both languages, so a language cannot miss a string; templates read them as
//! `t.<key>`, and messages with numbers name them as `{used}`, filled in by [`fill`].

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    /// English (the default).
    En,
    /// German.
    De,
}

impl Lang {
    /// The language of a locale or an `Accept-Language` list: German for `de…` first, else
    /// English.
    pub(crate) fn of(tag: Option<&str>) -> Lang {
        let first = tag.and_then(|tags| tags.split(',').next()).map(str::trim).unwrap_or_default();
        if first.get(..2).is_some_and(|primary| primary.eq_ignore_ascii_case("de")) {
            Lang::De
        } else {
            Lang::En
        }
    }

    /// The `lang` attribute.
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    /// Every string in this language, by key.
    pub(crate) fn strings(self) -> &'static BTreeMap<&'static str, &'static str> {
        static EN: OnceLock<BTreeMap<&str, &str>> = OnceLock::new();
        static DE: OnceLock<BTreeMap<&str, &str>> = OnceLock::new();
        match self {
            Lang::En => EN.get_or_init(|| CATALOGUE.iter().map(|(key, en, _)| (*key, *en)).collect()),
            Lang::De => DE.get_or_init(|| CATALOGUE.iter().map(|(key, _, de)| (*key, *de)).collect()),
        }
    }

    /// One string; empty when the catalogue lacks it (a test keeps that from happening).
    pub(crate) fn get(self, key: &str) -> &'static str {
        self.strings().get(key).copied().unwrap_or_else(|| {
            tracing::warn!(key, "the console's catalogue lacks a string");
            ""
        })
    }
}

/// `text` with each `{name}` replaced by its value.
pub(crate) fn fill(text: &str, values: &[(&str, String)]) -> String {
    values.iter().fold(text.to_owned(), |text, (name, value)| text.replace(&format!("{{{name}}}"), value))
}

/// Key, English, German.
pub(crate) const CATALOGUE: &[(&str, &str, &str)] = &[
    ("product", "usher console", "usher-Konsole"),
    ("skip", "Skip to content", "Zum Inhalt springen"),
    ("nav_label", "Console", "Konsole"),
    ("nav_users", "Users", "Benutzer"),
    ("signed_in_as", "Signed in as", "Angemeldet als"),
    ("sign_in", "Sign in", "Anmelden"),
    ("sign_in_title", "Sign in to the console", "An der Konsole anmelden"),
    ("sign_out", "Sign out", "Abmelden"),
    ("account", "Account", "Konto"),
    ("account_hint", "The short name of your company's account.", "Der Kurzname des Kontos Ihrer Firma."),
    ("username", "Username", "Benutzername"),
    ("password", "Password", "Passwort"),
    (
        "sign_in_failed",
        "The account, username or password is wrong, or this user may not sign in.",
        "Konto, Benutzername oder Passwort sind falsch, oder dieser Benutzer darf sich nicht anmelden.",
    ),
    (
        "sign_in_throttled",
        "Too many failed sign-ins. Try again in {seconds} seconds.",
        "Zu viele fehlgeschlagene Anmeldungen. Versuchen Sie es in {seconds} Sekunden erneut.",
    ),
    ("signed_out", "You are signed out.", "Sie sind abgemeldet."),
    (
        "session_ended",
        "Your session ended. Sign in again.",
        "Ihre Sitzung ist abgelaufen. Melden Sie sich erneut an.",
    ),
    ("password_title", "Change your password", "Passwort ändern"),
    (
        "password_forced",
        "Choose a new password before you go on.",
        "Wählen Sie ein neues Passwort, bevor Sie fortfahren.",
    ),
    ("current_password", "Current password", "Aktuelles Passwort"),
    ("new_password", "New password", "Neues Passwort"),
    ("new_password_again", "New password again", "Neues Passwort wiederholen"),
    ("password_rules", "Between {min} and {max} characters.", "Zwischen {min} und {max} Zeichen."),
    ("password_mismatch", "The two new passwords differ.", "Die beiden neuen Passwörter unterscheiden sich."),
    ("password_wrong", "The current password is wrong.", "Das aktuelle Passwort ist falsch."),
    (
        "password_changed",
        "Your password was changed. Sign in with the new one.",
        "Ihr Passwort wurde geändert. Melden Sie sich mit dem neuen an.",
    ),
    ("save", "Save", "Speichern"),
    ("cancel", "Cancel", "Abbrechen"),
    ("users_title", "Users", "Benutzer"),
    ("tab_active", "Active users", "Aktive Benutzer"),
    ("tab_pending", "Pending invitations", "Offene Einladungen"),
    ("tab_deactivated", "Deactivated users", "Deaktivierte Benutzer"),
    ("search", "Search", "Suchen"),
    ("search_hint", "Start of a username, email or name", "Anfang von Benutzername, E-Mail oder Name"),
    ("filter_type", "User type", "Benutzertyp"),
    ("filter_role", "Role", "Rolle"),
    ("any", "Any", "Alle"),
    ("apply", "Apply", "Anwenden"),
    ("name", "Name", "Name"),
    ("email", "Email", "E-Mail"),
    ("user_type", "User type", "Benutzertyp"),
    ("roles", "Roles", "Rollen"),
    ("state", "State", "Status"),
    ("state_active", "Active", "Aktiv"),
    ("state_disabled", "Deactivated", "Deaktiviert"),
    ("expires", "Expires", "Läuft ab"),
    ("sent", "Sent", "Gesendet"),
    ("no_users", "No user matches.", "Kein Benutzer passt."),
    ("no_invitations", "No pending invitation.", "Keine offene Einladung."),
    ("next_page", "Next page", "Nächste Seite"),
    ("first_page", "First page", "Erste Seite"),
    ("user_title", "User {username}", "Benutzer {username}"),
    ("email_confirmed", "Email confirmed", "E-Mail bestätigt"),
    ("yes", "Yes", "Ja"),
    ("no", "No", "Nein"),
    ("last_login", "Last sign-in", "Letzte Anmeldung"),
    ("never", "Never", "Nie"),
    ("created", "Created", "Angelegt"),
    ("actions", "Actions", "Aktionen"),
    ("back_to_users", "Back to users", "Zurück zu den Benutzern"),
    ("action_disable", "Deactivate", "Deaktivieren"),
    ("action_enable", "Activate", "Aktivieren"),
    ("action_send_verification", "Send verification email", "Bestätigungs-E-Mail senden"),
    ("action_mark_verified", "Mark email as confirmed", "E-Mail als bestätigt markieren"),
    ("action_send_reset", "Send password reset", "Passwort-Zurücksetzen senden"),
    ("action_delete", "Delete", "Löschen"),
    ("action_erase", "Erase personal data", "Persönliche Daten löschen"),
    ("confirm_title", "Confirm: {action}", "Bestätigen: {action}"),
    (
        "confirm_disable",
        "{username} can no longer sign in, their sessions end and their seat is freed.",
        "{username} kann sich nicht mehr anmelden, die Sitzungen enden und der Platz wird frei.",
    ),
    (
        "confirm_enable",
        "{username} can sign in again and takes a seat of their type.",
        "{username} kann sich wieder anmelden und belegt einen Platz seines Typs.",
    ),
    (
        "confirm_send_verification",
        "A mail with a confirmation link goes to {email}.",
        "Eine E-Mail mit einem Bestätigungslink geht an {email}.",
    ),
    (
        "confirm_mark_verified",
        "{email} is recorded as confirmed without a mail.",
        "{email} wird ohne E-Mail als bestätigt vermerkt.",
    ),
    (
        "confirm_send_reset",
        "A mail with a link to set a new password goes to {email}.",
        "Eine E-Mail mit einem Link zum Setzen eines neuen Passworts geht an {email}.",
    ),
    (
        "confirm_delete",
        "{username} is removed. A user who has acted must be erased instead.",
        "{username} wird entfernt. Ein Benutzer, der schon gehandelt hat, muss stattdessen gelöscht werden.",
    ),
    (
        "confirm_erase",
        "{username}'s personal data is erased for good; the audit keeps an anonymous record.",
        "Die persönlichen Daten von {username} werden endgültig gelöscht; das Protokoll behält einen anonymen Eintrag.",
    ),
    ("done_disable", "The user was deactivated.", "Der Benutzer wurde deaktiviert."),
    ("done_enable", "The user was activated.", "Der Benutzer wurde aktiviert."),
    (
        "done_send_verification",
        "The verification email is on its way.",
        "Die Bestätigungs-E-Mail ist unterwegs.",
    ),
    ("done_mark_verified", "The email is confirmed.", "Die E-Mail ist bestätigt."),
    (
        "done_send_reset",
        "The password reset mail is on its way.",
        "Die E-Mail zum Zurücksetzen ist unterwegs.",
    ),
    ("done_delete", "The user was deleted.", "Der Benutzer wurde gelöscht."),
    ("done_erase", "The user's personal data was erased.", "Die persönlichen Daten wurden gelöscht."),
    (
        "form_expired",
        "The form expired or did not come from this site. Load the page again and repeat.",
        "Das Formular ist abgelaufen oder kam nicht von dieser Seite. Laden Sie die Seite neu und wiederholen Sie.",
    ),
    ("not_found", "There is no such page or user.", "Diese Seite oder diesen Benutzer gibt es nicht."),
    (
        "failure",
        "Something went wrong. Try again in a moment.",
        "Etwas ist schiefgegangen. Versuchen Sie es gleich noch einmal.",
    ),
    ("problem_title", "That did not work", "Das hat nicht geklappt"),
    (
        "problem_no_seat_available",
        "No free seat of type {user_type}: {used} used, {reserved} reserved, {total} total.",
        "Kein freier Platz vom Typ {user_type}: {used} belegt, {reserved} reserviert, {total} insgesamt.",
    ),
    (
        "problem_missing_permission",
        "You may not do this. It needs: {permissions}.",
        "Das dürfen Sie nicht. Es braucht: {permissions}.",
    ),
    (
        "problem_target_holds_more",
        "This user holds permissions you do not hold: {permissions}.",
        "Dieser Benutzer hat Berechtigungen, die Sie nicht haben: {permissions}.",
    ),
    (
        "problem_version_mismatch",
        "Someone changed this meanwhile. Load the page again.",
        "Jemand hat dies inzwischen geändert. Laden Sie die Seite neu.",
    ),
    (
        "problem_user_has_history",
        "This user has acted, so the audit needs them: erase the personal data instead.",
        "Dieser Benutzer hat gehandelt, das Protokoll braucht ihn: löschen Sie stattdessen die persönlichen Daten.",
    ),
    ("seats_free", "{free} of {total} free", "{free} von {total} frei"),
    ("invite_users", "Invite users", "Benutzer einladen"),
    ("invite_title", "Invite users", "Benutzer einladen"),
    ("invite_emails", "Email addresses", "E-Mail-Adressen"),
    (
        "invite_emails_hint",
        "One or more, separated by commas or line breaks.",
        "Eine oder mehrere, getrennt durch Kommas oder Zeilenumbrüche.",
    ),
    (
        "invite_type_hint",
        "A type without a free seat cannot be picked until seats are added to the subscription.",
        "Ein Typ ohne freien Platz ist erst wählbar, wenn das Abonnement weitere Plätze erhält.",
    ),
    (
        "invite_roles_hint",
        "None picked: the account's default roles.",
        "Keine gewählt: die Standardrollen des Kontos.",
    ),
    ("invite_language", "Language of the invitation", "Sprache der Einladung"),
    ("language_en", "English", "Englisch"),
    ("language_de", "German", "Deutsch"),
    ("send_invites", "Send invites", "Einladungen senden"),
    (
        "invite_incomplete",
        "Enter at least one address and pick a user type.",
        "Geben Sie mindestens eine Adresse ein und wählen Sie einen Benutzertyp.",
    ),
    ("invite_summary", "{invited} of {total} invited.", "{invited} von {total} eingeladen."),
    ("address", "Address", "Adresse"),
    ("outcome", "Outcome", "Ergebnis"),
    ("outcome_invited", "Invited", "Eingeladen"),
    ("outcome_already_invited", "Already invited", "Bereits eingeladen"),
    ("outcome_existing_user", "Already a user", "Bereits Benutzer"),
    ("outcome_disposable_email", "Disposable address refused", "Wegwerfadresse abgelehnt"),
    ("outcome_invalid_email", "Not an email address", "Keine E-Mail-Adresse"),
    ("outcome_duplicate_in_request", "Listed twice", "Doppelt aufgeführt"),
    ("outcome_no_seat", "No free seat", "Kein freier Platz"),
    ("action_resend", "Resend", "Erneut senden"),
    ("action_revoke", "Revoke", "Zurückziehen"),
    (
        "confirm_resend",
        "A new invitation mail with a new link goes out; the old link stops working.",
        "Eine neue Einladung mit neuem Link wird gesendet; der alte Link funktioniert nicht mehr.",
    ),
    (
        "confirm_revoke",
        "The invitation's link stops working and its seat is freed.",
        "Der Link der Einladung funktioniert nicht mehr und der Platz wird frei.",
    ),
    ("done_resend", "The invitation was sent again.", "Die Einladung wurde erneut gesendet."),
    ("done_revoke", "The invitation was revoked.", "Die Einladung wurde zurückgezogen."),
    (
        "problem_outside_scope",
        "This is outside the accounts you administer.",
        "Das liegt außerhalb der Konten, die Sie verwalten.",
    ),
    ("action_edit", "Edit", "Bearbeiten"),
    ("nav_audit", "Audit log", "Protokoll"),
    ("scope", "Limited to sub-accounts", "Beschränkt auf Unterkonten"),
    (
        "scope_hint",
        "None ticked: the user acts in their whole account and everything below it.",
        "Keines gewählt: der Benutzer handelt in seinem ganzen Konto und allem darunter.",
    ),
    ("billing_address", "Billing address", "Rechnungsadresse"),
    ("shipping_address", "Shipping address", "Lieferadresse"),
    ("street", "Street and number", "Straße und Hausnummer"),
    ("postal_code", "Postal code", "Postleitzahl"),
    ("city", "City", "Ort"),
    ("country", "Country", "Land"),
    ("nav_settings", "Settings", "Einstellungen"),
    ("nav_accounts", "Accounts", "Konten"),
    ("settings_title", "Settings", "Einstellungen"),
    ("settings_users", "Users", "Benutzer"),
    ("settings_lifetimes", "Lifetimes", "Laufzeiten"),
    (
        "setting_verification",
        "Email Confirmed required before sign-in",
        "Bestätigte E-Mail vor der Anmeldung erforderlich",
    ),
    (
        "setting_usernames_emails",
        "Usernames must be email addresses",
        "Benutzernamen müssen E-Mail-Adressen sein",
    ),
    (
        "setting_self_registration",
        "People may register themselves as members",
        "Personen dürfen sich selbst als Mitglied registrieren",
    ),
    (
        "setting_link_identities",
        "Link a sign-in from the identity provider to the user with its verified email",
        "Eine Anmeldung über den Identitätsanbieter mit dem Benutzer seiner bestätigten E-Mail verknüpfen",
    ),
    ("setting_username_format", "Username format", "Benutzernamen-Format"),
    (
        "setting_username_format_hint",
        "For usernames left empty: {first}, {last}, {f}, {l}, {email}, {email_local}.",
        "Für leer gelassene Benutzernamen: {first}, {last}, {f}, {l}, {email}, {email_local}.",
    ),
    ("password_min_length", "Shortest password", "Kürzestes Passwort"),
    ("invitation_days", "Invitation links live (days)", "Einladungslinks gelten (Tage)"),
    (
        "link_hours",
        "Verification and password links live (hours)",
        "Bestätigungs- und Passwortlinks gelten (Stunden)",
    ),
    ("session_hours", "A session lives (hours)", "Eine Sitzung gilt (Stunden)"),
    (
        "idle_minutes",
        "A console session ends after idle (minutes)",
        "Eine Konsolensitzung endet nach Leerlauf (Minuten)",
    ),
    ("settings_not_a_number", "{field}: enter a whole number.", "{field}: geben Sie eine ganze Zahl ein."),
    ("done_settings", "The settings were saved.", "Die Einstellungen wurden gespeichert."),
    ("accounts_title", "Accounts", "Konten"),
    ("suspended", "suspended", "gesperrt"),
    ("new_sub_account", "New sub-account", "Neues Unterkonto"),
    ("add_sub_account", "Add sub-account", "Unterkonto hinzufügen"),
    ("slug", "Short name", "Kurzname"),
    (
        "slug_hint",
        "Lower-case letters, digits and hyphens; used to sign in.",
        "Kleinbuchstaben, Ziffern und Bindestriche; zum Anmelden verwendet.",
    ),
    ("done_account", "The sub-account was added.", "Das Unterkonto wurde hinzugefügt."),
    (
        "problem_not_a_root_account",
        "Settings belong to the company's main account; its administrators change them.",
        "Einstellungen gehören zum Hauptkonto der Firma; dessen Administratoren ändern sie.",
    ),
    (
        "problem_root_level",
        "This belongs to the company's main account; its administrators change it.",
        "Dies gehört zum Hauptkonto der Firma; dessen Administratoren ändern es.",
    ),
    ("nav_keys", "API keys", "API-Schlüssel"),
    ("keys_title", "API keys", "API-Schlüssel"),
    ("new_key", "New API key", "Neuer API-Schlüssel"),
    ("create_key", "Create key", "Schlüssel anlegen"),
    ("key_days", "Lifetime in days", "Laufzeit in Tagen"),
    ("key_days_hint", "Empty: the key does not expire.", "Leer: der Schlüssel läuft nicht ab."),
    ("key_days_invalid", "“{value}” is not a number of days.", "„{value}“ ist keine Anzahl von Tagen."),
    (
        "key_secret_once",
        "Copy the key now: it is shown this once and cannot be shown again.",
        "Kopieren Sie den Schlüssel jetzt: er wird nur dieses eine Mal angezeigt.",
    ),
    ("key_secret", "The new key", "Der neue Schlüssel"),
    ("key_active", "Active", "Aktiv"),
    ("key_expired", "Expired", "Abgelaufen"),
    ("key_revoked", "Revoked", "Widerrufen"),
    ("no_keys", "No API key yet.", "Noch kein API-Schlüssel."),
    (
        "confirm_revoke_key",
        "Apps that call with this key are refused from now on.",
        "Apps, die mit diesem Schlüssel aufrufen, werden ab sofort abgewiesen.",
    ),
    ("done_key_revoked", "The key was revoked.", "Der Schlüssel wurde widerrufen."),
    ("nav_mail", "Mail", "E-Mail"),
    ("audit_title", "Audit log", "Protokoll"),
    ("history", "History", "Verlauf"),
    ("audit_when", "When", "Wann"),
    ("audit_action", "Action", "Aktion"),
    ("audit_action_hint", "e.g. user.disabled, or user. for all", "z. B. user.disabled, oder user. für alle"),
    ("audit_actor", "Actor", "Handelnder"),
    ("audit_actor_hint", "The id of a user or API key", "Die Kennung eines Benutzers oder API-Schlüssels"),
    ("audit_bad_actor", "The actor is named by its id.", "Der Handelnde wird mit seiner Kennung angegeben."),
    ("audit_target_kind", "Object kind", "Objektart"),
    ("audit_target", "Object id", "Objektkennung"),
    ("audit_origin", "Origin", "Herkunft"),
    ("audit_changes", "Changes", "Änderungen"),
    ("no_events", "No event matches.", "Kein Ereignis passt."),
    ("mail_title", "Mail outbox", "E-Mail-Ausgang"),
    ("mail_all", "All", "Alle"),
    ("mail_pending", "Waiting", "Wartend"),
    ("mail_sent", "Sent", "Gesendet"),
    ("mail_failed", "Failed", "Fehlgeschlagen"),
    ("mail_to", "To", "An"),
    ("mail_kind", "Kind", "Art"),
    ("mail_attempts", "Attempts", "Versuche"),
    ("mail_last_error", "Last answer of the mail server", "Letzte Antwort des Mailservers"),
    ("mail_retry", "Send again", "Erneut senden"),
    ("no_mail", "No mail here.", "Hier ist keine E-Mail."),
    ("done_retry", "The mail is queued again.", "Die E-Mail steht wieder in der Warteschlange."),
    ("nav_roles", "Roles", "Rollen"),
    ("roles_title", "Roles", "Rollen"),
    ("new_role", "New role", "Neue Rolle"),
    ("role_title", "Role {name}", "Rolle {name}"),
    ("back_to_roles", "Back to roles", "Zurück zu den Rollen"),
    ("permissions", "Permissions", "Berechtigungen"),
    ("module", "Module", "Modul"),
    ("access_read", "Read", "Lesen"),
    ("access_write", "Write", "Schreiben"),
    ("builtin", "built-in", "eingebaut"),
    (
        "builtin_role_fixed",
        "A built-in role keeps its name and permissions; make a role of your own to change them.",
        "Eine eingebaute Rolle behält Namen und Berechtigungen; legen Sie eine eigene Rolle an, um sie zu ändern.",
    ),
    ("done_role", "The role was saved.", "Die Rolle wurde gespeichert."),
    (
        "problem_escalation",
        "You cannot grant permissions you do not hold: {permissions}.",
        "Sie können keine Berechtigungen vergeben, die Sie nicht haben: {permissions}.",
    ),
    ("module_accounts", "Accounts", "Konten"),
    ("module_settings", "Settings", "Einstellungen"),
    ("module_user_types", "User types", "Benutzertypen"),
    ("module_subscription", "Subscription", "Abonnement"),
    ("module_users", "Users", "Benutzer"),
    ("module_roles", "Roles", "Rollen"),
    ("module_invitations", "Invitations", "Einladungen"),
    ("module_api_keys", "API keys", "API-Schlüssel"),
    ("module_audit", "Audit log", "Protokoll"),
    ("module_events", "Events", "Ereignisse"),
    ("module_introspection", "Token introspection", "Token-Prüfung"),
    ("module_scim", "SCIM provisioning", "SCIM-Bereitstellung"),
    ("module_contacts", "Contacts", "Kontakte"),
    ("module_pricing", "Pricing", "Preise"),
    ("module_payment", "Payment", "Zahlung"),
    ("module_orders", "Orders", "Bestellungen"),
    ("module_catalog", "Product catalog", "Produktkatalog"),
    ("module_quotes", "Quotes", "Angebote"),
    ("module_reports", "Reports", "Berichte"),
    ("nav_subscription", "Subscription", "Abonnement"),
    ("subscription_title", "User types and seats", "Benutzertypen und Plätze"),
    (
        "subscription_hint",
        "Seats are bought per user type; a type that takes no seat has no total.",
        "Plätze werden je Benutzertyp gekauft; ein Typ ohne Platz hat keine Gesamtzahl.",
    ),
    ("key", "Key", "Schlüssel"),
    ("used", "Used", "Belegt"),
    ("reserved", "Reserved", "Reserviert"),
    ("free", "Free", "Frei"),
    ("total", "Total", "Gesamt"),
    ("no_seats", "Takes no seat", "Belegt keinen Platz"),
    ("total_of", "Total seats of {name}", "Plätze von {name} insgesamt"),
    ("save_totals", "Save totals", "Gesamtzahlen speichern"),
    ("done_subscription", "The seat totals were saved.", "Die Gesamtzahlen wurden gespeichert."),
    ("seats_not_a_number", "“{value}” is not a number of seats.", "„{value}“ ist keine Anzahl von Plätzen."),
    (
        "problem_seats_belong_to_operator",
        "Seat totals are set by the operator. Ask them for more seats, or to let this account set its own.",
        "Die Plätze legt der Betreiber fest. Bitten Sie ihn um mehr Plätze oder darum, dass dieses Konto sie selbst festlegen darf.",
    ),
    (
        "problem_seats_below_usage",
        "The seats of type {user_type} cannot be set to {requested}: {used} used, {reserved} reserved.",
        "Die Plätze vom Typ {user_type} können nicht auf {requested} gesetzt werden: {used} belegt, {reserved} reserviert.",
    ),
    ("nav_contacts", "Contacts", "Kontakte"),
    ("contacts_title", "Contacts", "Kontakte"),
    ("contacts_search_hint", "Start of a name or email", "Anfang von Name oder E-Mail"),
    ("contact_kind", "Kind", "Art"),
    ("kind_person", "Person", "Person"),
    ("kind_organization", "Organization", "Organisation"),
    ("user_column", "User", "Benutzer"),
    ("view_user", "View user", "Benutzer ansehen"),
    ("create_user", "Create user", "Benutzer anlegen"),
    ("no_contacts", "No contact matches.", "Kein Kontakt passt."),
    ("contact_user_title", "A user for {name}", "Ein Benutzer für {name}"),
    (
        "contact_user_hint",
        "The user gets the account's default user type and roles. Change them on the user's page afterwards.",
        "Der Benutzer erhält den Standard-Benutzertyp und die Standardrollen des Kontos. Ändern Sie sie danach auf der Seite des Benutzers.",
    ),
    ("new_user", "New user", "Neuer Benutzer"),
    ("new_user_title", "New user", "Neuer Benutzer"),
    (
        "username_generated",
        "Leave empty to make one from the account's username format.",
        "Leer lassen, um ihn aus dem Benutzernamen-Format des Kontos zu bilden.",
    ),
    ("is_enabled", "Is enabled", "Ist aktiviert"),
    ("send_welcome", "Send a set-password mail", "E-Mail zum Setzen des Passworts senden"),
    ("pick_a_type", "Pick a user type.", "Wählen Sie einen Benutzertyp."),
    ("done_created", "The user was created.", "Der Benutzer wurde angelegt."),
    (
        "problem_role_required",
        "An enabled user needs at least one role.",
        "Ein aktivierter Benutzer braucht mindestens eine Rolle.",
    ),
    (
        "problem_above_ceiling",
        "These roles grant more than the user type allows: {permissions}.",
        "Diese Rollen gewähren mehr, als der Benutzertyp erlaubt: {permissions}.",
    ),
    ("action_set_password", "Edit password", "Passwort bearbeiten"),
    ("edit_title", "Edit {username}", "{username} bearbeiten"),
    ("first_name", "First name", "Vorname"),
    ("last_name", "Last name", "Nachname"),
    ("language", "Language", "Sprache"),
    ("language_default", "As the account's default", "Wie im Konto voreingestellt"),
    (
        "linked_warning",
        "This user is linked to other systems by its username; renaming breaks those links.",
        "Dieser Benutzer ist über den Benutzernamen mit anderen Systemen verknüpft; eine Umbenennung trennt diese Verknüpfungen.",
    ),
    ("acknowledge_rename", "Rename anyway", "Trotzdem umbenennen"),
    (
        "problem_rename_needs_acknowledgement",
        "This username links the user to another system. Tick “Rename anyway” to break that link.",
        "Dieser Benutzername verknüpft den Benutzer mit einem anderen System. Wählen Sie „Trotzdem umbenennen“, um die Verknüpfung zu trennen.",
    ),
    (
        "problem_rename_refused",
        "A registered member keeps the username they chose.",
        "Ein registriertes Mitglied behält den selbst gewählten Benutzernamen.",
    ),
    ("done_edit", "The changes were saved.", "Die Änderungen wurden gespeichert."),
    ("set_password_title", "Set a password for {username}", "Passwort für {username} setzen"),
    (
        "set_password_hint",
        "The user must change it at the next sign-in; their sessions end now.",
        "Der Benutzer muss es bei der nächsten Anmeldung ändern; seine Sitzungen enden jetzt.",
    ),
    ("done_password", "The password was set.", "Das Passwort wurde gesetzt."),
    ("problem_own_user", "You cannot do this to yourself.", "Das können Sie nicht mit sich selbst tun."),
    ("problem_already_verified", "The email is already verified.", "Die E-Mail ist bereits bestätigt."),
    ("problem_bad_request", "The request could not be read.", "Die Anfrage konnte nicht gelesen werden."),
    (
        "problem_builtin_role",
        "A built-in role cannot be changed or deleted.",
        "Eine eingebaute Rolle kann nicht geändert oder gelöscht werden.",
    ),
    (
        "problem_contact_has_user",
        "This contact already has a user.",
        "Dieser Kontakt hat bereits einen Benutzer.",
    ),
    (
        "problem_device_taken",
        "This device is already linked to a user.",
        "Dieses Gerät ist bereits mit einem Benutzer verknüpft.",
    ),
    ("problem_duplicate", "This value is already taken.", "Dieser Wert ist bereits vergeben."),
    (
        "problem_concurrent_update",
        "Someone changed this at the same moment. Try again.",
        "Jemand hat dies im selben Moment geändert. Versuchen Sie es erneut.",
    ),
    (
        "problem_email_taken",
        "Another user of this company has this email.",
        "Ein anderer Benutzer dieser Firma hat diese E-Mail.",
    ),
    (
        "problem_existing_user",
        "A user with this address exists already.",
        "Ein Benutzer mit dieser Adresse existiert bereits.",
    ),
    (
        "problem_external_id_taken",
        "Another user has this external id.",
        "Ein anderer Benutzer hat diese externe Kennung.",
    ),
    (
        "problem_identity_not_linked",
        "The identity cannot be linked to an existing user by this email.",
        "Die Identität kann über diese E-Mail nicht mit einem bestehenden Benutzer verknüpft werden.",
    ),
    ("problem_import_finished", "The import has ended already.", "Der Import ist bereits beendet."),
    (
        "problem_import_sealed",
        "The import's file is complete and cannot take more rows.",
        "Die Datei des Imports ist vollständig und nimmt keine Zeilen mehr an.",
    ),
    (
        "problem_internal",
        "Something went wrong on our side. It was logged; try again later.",
        "Bei uns ist etwas schiefgegangen. Es wurde protokolliert; versuchen Sie es später erneut.",
    ),
    ("problem_invalid_field", "{detail}", "{detail}"),
    // Why the domain refuses a value: its bounds, or the reason it gives (`ValueError`).
    ("value_empty", "Must not be empty.", "Darf nicht leer sein."),
    (
        "value_too_long",
        "At most {max} characters ({actual} given).",
        "Höchstens {max} Zeichen ({actual} angegeben).",
    ),
    (
        "value_too_short",
        "At least {min} characters ({actual} given).",
        "Mindestens {min} Zeichen ({actual} angegeben).",
    ),
    (
        "value_out_of_range",
        "Must be between {min} and {max} ({actual} given).",
        "Muss zwischen {min} und {max} liegen ({actual} angegeben).",
    ),
    (
        "value_too_many",
        "At most {max} entries ({actual} given).",
        "Höchstens {max} Einträge ({actual} angegeben).",
    ),
    ("value: account path has a cycle", "The account tree is damaged.", "Der Kontenbaum ist beschädigt."),
    (
        "value: action must be read or write",
        "The access must be read or write.",
        "Der Zugriff muss read oder write sein.",
    ),
    (
        "value: must be 1 to 100 printable characters",
        "Must be 1 to 100 printable characters.",
        "Muss aus 1 bis 100 druckbaren Zeichen bestehen.",
    ),
    (
        "value: must be 64 lowercase hex characters",
        "Must be 64 lowercase hexadecimal characters.",
        "Muss aus 64 kleinen Hexadezimalzeichen bestehen.",
    ),
    (
        "value: must be a JSON object of strings",
        "Must be a JSON object of strings.",
        "Muss ein JSON-Objekt aus Zeichenketten sein.",
    ),
    ("value: must be a PHC string", "Must be a PHC string.", "Muss eine PHC-Zeichenkette sein."),
    (
        "value: must be a language tag such as en or de-CH",
        "Must be a language tag such as en or de-CH.",
        "Muss ein Sprachkürzel wie en oder de-CH sein.",
    ),
    ("value: must be active or disabled", "Must be active or disabled.", "Muss active oder disabled sein."),
    (
        "value: names no account the caller provisions into",
        "Names no account the caller provisions into.",
        "Nennt kein Konto, in das der Aufrufer Benutzer anlegt.",
    ),
    (
        "value: cannot change: a user stays in the account it was made in",
        "Cannot change: a user stays in the account it was made in.",
        "Nicht änderbar: Ein Benutzer bleibt in dem Konto, in dem er angelegt wurde.",
    ),
    ("value: must be an email address", "Must be an email address.", "Muss eine E-Mail-Adresse sein."),
    ("value: must be an http(s) URL", "Must be an http(s) URL.", "Muss eine http(s)-URL sein."),
    (
        "value: must be billing or shipping",
        "Must be billing or shipping.",
        "Muss billing oder shipping sein.",
    ),
    (
        "value: must be letters a-z, digits and inner hyphens only",
        "Only letters a-z, digits and hyphens inside are allowed.",
        "Erlaubt sind nur Buchstaben a-z, Ziffern und Bindestriche im Inneren.",
    ),
    (
        "value: must be letters a-z, digits, _, - and . only",
        "Only letters a-z, digits, _, - and . are allowed.",
        "Erlaubt sind nur Buchstaben a-z, Ziffern, _, - und ..",
    ),
    (
        "value: must be person or organization",
        "Must be person or organization.",
        "Muss person oder organization sein.",
    ),
    (
        "value: must be visible ASCII characters",
        "Only visible ASCII characters are allowed.",
        "Erlaubt sind nur sichtbare ASCII-Zeichen.",
    ),
    (
        "value: must be whsec_ and the base64 of 24 to 64 bytes",
        "Must be whsec_ followed by the base64 of 24 to 64 bytes.",
        "Muss whsec_ gefolgt vom Base64 von 24 bis 64 Bytes sein.",
    ),
    ("value: must come after since", "Must come after the start.", "Muss nach dem Beginn liegen."),
    (
        "value: must contain a placeholder such as {email}",
        "Must contain a placeholder such as {email}.",
        "Muss einen Platzhalter wie {email} enthalten.",
    ),
    ("value: must contain an @", "Must contain an @.", "Muss ein @ enthalten."),
    (
        "value: must look like module:read or module:write",
        "Must look like module:read or module:write.",
        "Muss wie module:read oder module:write aussehen.",
    ),
    ("value: must name a host", "Must name a host.", "Muss einen Host nennen."),
    (
        "value: must not carry credentials",
        "Must not carry credentials.",
        "Darf keine Zugangsdaten enthalten.",
    ),
    (
        "value: must not contain control characters",
        "Must not contain control characters.",
        "Darf keine Steuerzeichen enthalten.",
    ),
    (
        "value: must not contain invisible, direction-changing or look-alike characters",
        "Must not contain invisible, direction-changing or look-alike characters.",
        "Darf keine unsichtbaren, richtungsändernden oder verwechselbaren Zeichen enthalten.",
    ),
    (
        "value: must not contain spaces or control characters",
        "Must not contain spaces or control characters.",
        "Darf keine Leer- oder Steuerzeichen enthalten.",
    ),
    ("value: must not have a fragment", "Must not have a fragment (#…).", "Darf kein Fragment (#…) haben."),
    (
        "value: must not mix scripts (such as Latin and Cyrillic) in one part",
        "Must not mix scripts (such as Latin and Cyrillic) in one part.",
        "Darf in einem Teil keine Schriften mischen (etwa Lateinisch und Kyrillisch).",
    ),
    (
        "value: must start with https:// or http://",
        "Must start with https:// or http://.",
        "Muss mit https:// oder http:// beginnen.",
    ),
    (
        "value: names an unknown event type",
        "Names an unknown event type.",
        "Nennt einen unbekannten Ereignistyp.",
    ),
    ("value: names an unknown module", "Names an unknown module.", "Nennt ein unbekanntes Modul."),
    ("value: not an RFC 3339 time", "Must be an RFC 3339 time.", "Muss eine RFC-3339-Zeit sein."),
    (
        "value: the domain is not a valid host name",
        "The domain is not a valid host name.",
        "Die Domain ist kein gültiger Hostname.",
    ),
    (
        "value: the domain must contain a dot",
        "The domain must contain a dot.",
        "Die Domain muss einen Punkt enthalten.",
    ),
    (
        "value: the part before @ contains a character that needs quoting",
        "The part before @ contains a character that needs quoting.",
        "Der Teil vor dem @ enthält ein Zeichen, das maskiert werden müsste.",
    ),
    (
        "value: the part before @ must be 1 to 64 characters without another @",
        "The part before @ must be 1 to 64 characters without another @.",
        "Der Teil vor dem @ muss 1 bis 64 Zeichen ohne weiteres @ haben.",
    ),
    (
        "value: the user type consumes no seat",
        "The user type takes no seat.",
        "Der Benutzertyp belegt keinen Platz.",
    ),
    (
        "value: uses an unknown placeholder",
        "Uses an unknown placeholder.",
        "Verwendet einen unbekannten Platzhalter.",
    ),
    (
        "problem_invalid_header",
        "The file's header row cannot be read.",
        "Die Kopfzeile der Datei kann nicht gelesen werden.",
    ),
    (
        "problem_invalid_origin",
        "This request came from another site and was refused.",
        "Diese Anfrage kam von einer anderen Website und wurde abgelehnt.",
    ),
    (
        "problem_invitation_not_pending",
        "This invitation is no longer pending.",
        "Diese Einladung ist nicht mehr offen.",
    ),
    ("problem_key_taken", "This key is already taken.", "Dieser Schlüssel ist bereits vergeben."),
    ("problem_link_expired", "This link has expired.", "Dieser Link ist abgelaufen."),
    ("problem_link_invalid", "This link is not valid.", "Dieser Link ist ungültig."),
    ("problem_link_used", "This link was used already.", "Dieser Link wurde bereits verwendet."),
    (
        "problem_mail_not_failed",
        "Only a mail that failed can be sent again.",
        "Nur eine fehlgeschlagene E-Mail kann erneut gesendet werden.",
    ),
    (
        "problem_member_type_reserved",
        "This user type is kept for members who register themselves.",
        "Dieser Benutzertyp ist Mitgliedern vorbehalten, die sich selbst registrieren.",
    ),
    (
        "problem_method_not_allowed",
        "This page does not take that request.",
        "Diese Seite nimmt diese Anfrage nicht an.",
    ),
    ("problem_name_taken", "This name is already taken.", "Dieser Name ist bereits vergeben."),
    ("problem_no_password_yet", "The user has no password yet.", "Der Benutzer hat noch kein Passwort."),
    (
        "problem_not_a_user",
        "Only a signed-in user can do this.",
        "Nur ein angemeldeter Benutzer kann dies tun.",
    ),
    (
        "problem_not_found",
        "This does not exist, or you may not see it.",
        "Dies existiert nicht, oder Sie dürfen es nicht sehen.",
    ),
    (
        "problem_operator_only",
        "Only the operator of this installation can do this.",
        "Nur der Betreiber dieser Installation kann dies tun.",
    ),
    (
        "problem_own_account",
        "You cannot suspend the account you belong to.",
        "Sie können das Konto, zu dem Sie gehören, nicht sperren.",
    ),
    ("problem_password_change_required", "Change your password first.", "Ändern Sie zuerst Ihr Passwort."),
    (
        "problem_password_rejected",
        "This password is too common or too close to the username.",
        "Dieses Passwort ist zu verbreitet oder dem Benutzernamen zu ähnlich.",
    ),
    (
        "problem_password_too_short",
        "The password is too short: at least {limit} characters, this one has {actual}.",
        "Das Passwort ist zu kurz: mindestens {limit} Zeichen, dieses hat {actual}.",
    ),
    (
        "problem_password_too_long",
        "The password is too long: at most {limit} characters, this one has {actual}.",
        "Das Passwort ist zu lang: höchstens {limit} Zeichen, dieses hat {actual}.",
    ),
    ("problem_registration_closed", "Registration is closed.", "Die Registrierung ist geschlossen."),
    (
        "problem_role_still_assigned",
        "This role is still assigned to users.",
        "Diese Rolle ist noch Benutzern zugewiesen.",
    ),
    (
        "problem_session_required",
        "This needs a signed-in session.",
        "Dies erfordert eine angemeldete Sitzung.",
    ),
    (
        "problem_signing_off",
        "The server is shutting down. Try again in a moment.",
        "Der Server wird beendet. Versuchen Sie es gleich erneut.",
    ),
    ("problem_slug_taken", "This short name is already taken.", "Dieser Kurzname ist bereits vergeben."),
    ("problem_too_many_addresses", "Too many addresses at once.", "Zu viele Adressen auf einmal."),
    (
        "problem_too_many_requests",
        "Too many attempts. Try again in {retry_after} seconds.",
        "Zu viele Versuche. Versuchen Sie es in {retry_after} Sekunden erneut.",
    ),
    (
        "problem_too_many_webhooks",
        "This account has as many webhooks as it may.",
        "Dieses Konto hat bereits so viele Webhooks wie erlaubt.",
    ),
    ("problem_unauthenticated", "Sign in first.", "Melden Sie sich zuerst an."),
    (
        "problem_unknown_reference",
        "Something this names does not exist: {field}.",
        "Etwas Genanntes existiert nicht: {field}.",
    ),
    (
        "problem_unsupported_media_type",
        "This request's format is not accepted.",
        "Das Format dieser Anfrage wird nicht angenommen.",
    ),
    ("problem_user_erased", "This user was erased.", "Dieser Benutzer wurde gelöscht."),
    (
        "problem_username_must_be_email",
        "In this company, a username must be an email address.",
        "In dieser Firma muss ein Benutzername eine E-Mail-Adresse sein.",
    ),
    (
        "problem_username_taken",
        "Another user of this company has this username.",
        "Ein anderer Benutzer dieser Firma hat diesen Benutzernamen.",
    ),
    (
        "problem_verification_not_required",
        "This company does not ask for email verification.",
        "Diese Firma verlangt keine E-Mail-Bestätigung.",
    ),
    ("problem_wrong_password", "The current password is wrong.", "Das aktuelle Passwort ist falsch."),
    ("problem_console_said", "{detail}", "{detail}"),
    (
        "problem_invalid_credentials",
        "The account, username or password is wrong, or this user may not sign in.",
        "Konto, Benutzername oder Passwort sind falsch, oder dieser Benutzer darf sich nicht anmelden.",
    ),
    (
        "problem_too_many_attempts",
        "Too many failed attempts. Try again in {retry_after} seconds.",
        "Zu viele Fehlversuche. Versuchen Sie es in {retry_after} Sekunden erneut.",
    ),
    (
        "problem_invalid_cursor",
        "This page link is no longer valid; start from the first page.",
        "Dieser Seitenlink ist nicht mehr gültig; beginnen Sie bei der ersten Seite.",
    ),
    (
        "problem_not_ready",
        "The server is not ready yet. Try again in a moment.",
        "Der Server ist noch nicht bereit. Versuchen Sie es gleich erneut.",
    ),
    (
        "problem_payload_too_large",
        "This is too large: at most {limit} bytes.",
        "Das ist zu groß: höchstens {limit} Bytes.",
    ),
    (
        "problem_unreadable_file",
        "The file cannot be read as CSV.",
        "Die Datei kann nicht als CSV gelesen werden.",
    ),
    ("user_details", "User details", "Benutzerdetails"),
    ("notification_email", "Email to", "E-Mail an"),
    (
        "notification_email_hint",
        "Where notifications go instead of the user's email; empty sends them to the email.",
        "Wohin Benachrichtigungen statt an die E-Mail des Benutzers gehen; leer sendet sie an die E-Mail.",
    ),
    ("phone", "Phone", "Telefon"),
    ("image_url", "Image (URL)", "Bild (URL)"),
    ("sales_territories", "Sales territories", "Vertriebsgebiete"),
    ("sales_territories_hint", "Separated by commas.", "Durch Kommas getrennt."),
    ("sales_representative", "Sales representative", "Vertriebsmitarbeiter"),
    (
        "sales_representative_hint",
        "A username. Empty: the account's sales representative applies.",
        "Ein Benutzername. Leer: Es gilt der Vertriebsmitarbeiter des Kontos.",
    ),
    ("sales_rep_inherited", "{name} (from the account)", "{name} (vom Konto)"),
    ("system_messages", "Receives system messages", "Erhält Systemnachrichten"),
    ("none", "None", "Keiner"),
    (
        "problem_unknown_user",
        "No user you can see is called “{detail}”.",
        "Sie sehen keinen Benutzer namens „{detail}“.",
    ),
    ("linked_devices", "Linked devices", "Verknüpfte Geräte"),
    ("devices_title", "Linked devices of {username}", "Verknüpfte Geräte von {username}"),
    ("back_to_user", "Back to the user", "Zurück zum Benutzer"),
    ("device_name", "Device name", "Gerätename"),
    ("device_identifier", "Identifier", "Kennung"),
    (
        "device_identifier_hint",
        "The id the device reports, e.g. its serial number; a device is linked to one user only.",
        "Die Kennung, die das Gerät meldet, z. B. seine Seriennummer; ein Gerät gehört nur zu einem Benutzer.",
    ),
    ("device_linked", "Linked", "Verknüpft"),
    ("device_unlink", "Unlink", "Trennen"),
    ("device_link", "Link a device", "Gerät verknüpfen"),
    ("no_devices", "No device is linked.", "Kein Gerät ist verknüpft."),
    (
        "device_needs_password",
        "A device can be linked once the user has a password.",
        "Ein Gerät kann verknüpft werden, sobald der Benutzer ein Passwort hat.",
    ),
    ("done_device_linked", "The device was linked.", "Das Gerät wurde verknüpft."),
    ("done_device_unlinked", "The device was unlinked.", "Das Gerät wurde getrennt."),
    ("account_title", "Account {name}", "Konto {name}"),
    ("back_to_accounts", "Back to the accounts", "Zurück zu den Konten"),
    (
        "account_sales_rep_hint",
        "A username. Its users, and the accounts below it, have this sales representative unless they name their own.",
        "Ein Benutzername. Seine Benutzer und die Konten darunter haben diesen Vertriebsmitarbeiter, wenn sie keinen eigenen nennen.",
    ),
    ("done_account_saved", "The account was saved.", "Das Konto wurde gespeichert."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_unique_and_every_entry_speaks_both_languages() {
        let keys: std::collections::BTreeSet<_> = CATALOGUE.iter().map(|(key, _, _)| key).collect();
        assert_eq!(keys.len(), CATALOGUE.len(), "a key appears twice");
        for (key, en, de) in CATALOGUE {
            assert!(!en.is_empty() && !de.is_empty(), "{key} lacks a language");
            let names = |text: &str| text.matches('{').count();
            assert_eq!(names(en), names(de), "{key} names other values in German");
        }
    }

    #[test]
    fn the_language_follows_the_locale_and_defaults_to_english() {
        assert_eq!(Lang::of(Some("de-CH")), Lang::De);
        assert_eq!(Lang::of(Some("de,en;q=0.8")), Lang::De);
        assert_eq!(Lang::of(Some("en-GB,de;q=0.9")), Lang::En);
        assert_eq!(Lang::of(Some("fr")), Lang::En);
        assert_eq!(Lang::of(None), Lang::En);
        assert_eq!(fill("{a} of {b}", &[("a", "1".into()), ("b", "2".into())]), "1 of 2");
    }
}
