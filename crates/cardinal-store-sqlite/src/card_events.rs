//! A card's audit events, as a chain (migration 0016): the card's row names its newest event
//! and each event the one before it, so a change writes no page of an index by card.

use cardinal_store::{Actor, ActorKind, AuditEvent, StoreError, StoreResult};
use rusqlite::{params, Connection};
use uuid::Uuid;

use crate::{
    rows::{seconds, status_from, timestamp, uuid},
    sql,
};

/// A card's events, newest first: the chain from the card's newest event back through each
/// event's `previous_seq` (migration 0016), at most `?3` of them (-1: all), for the card
/// `?1` of the organization `?2`: one lookup by primary key an event, its columns carried
/// along. `CROSS JOIN` keeps the chain outside: left to itself, SQLite scanned every event in
/// `seq` order, probing the chain for each, to spare sorting a short result (3 ms for a
/// card's 83 events among 84,000).
pub(crate) const CARD_EVENTS_NEWEST_FIRST: &str = "WITH RECURSIVE \
       chain(depth, previous_seq, id, card_id, action, actor_type, actor_id, from_status, to_status, changes, \
             request_id, at) AS ( \
       SELECT 1, e.previous_seq, e.id, e.card_id, e.action, e.actor_type, e.actor_id, e.from_status, e.to_status, \
              e.changes, e.request_id, e.at \
         FROM cards c CROSS JOIN card_events e ON e.seq = c.last_event_seq \
        WHERE c.id = ?1 AND c.organization_id = ?2 \
       UNION ALL \
       SELECT chain.depth + 1, e.previous_seq, e.id, e.card_id, e.action, e.actor_type, e.actor_id, e.from_status, \
              e.to_status, e.changes, e.request_id, e.at \
         FROM chain CROSS JOIN card_events e ON e.seq = chain.previous_seq \
        WHERE ?3 < 0 OR chain.depth < ?3) \
     SELECT id, card_id, action, actor_type, actor_id, from_status, to_status, changes, request_id, at \
     FROM chain ORDER BY depth LIMIT ?3";

/// Writes `event` as its card's newest: the card's row names it (migration 0016).
pub(crate) fn insert_event(conn: &Connection, event: &AuditEvent) -> StoreResult<()> {
    let seq = append_event(conn, event)?;
    conn.prepare_cached("UPDATE cards SET last_event_seq = ?1 WHERE id = ?2")
        .and_then(|mut s| s.execute(params![seq, event.card_id.to_string()]))
        .map_err(sql)?;
    Ok(())
}

/// Appends `event` to its card's chain and answers its `seq`: the event takes the card's
/// organization and names the card's newest event as the one before it. The caller makes it
/// the card's newest, in the card's row ([`insert_event`], or [`save_card`] with the change
/// the event records). A card that does not exist is a conflict, as its foreign key made it.
pub(crate) fn append_event(conn: &Connection, event: &AuditEvent) -> StoreResult<i64> {
    // The new row's `seq` is its rowid: no `RETURNING` (see SAVE_CARD).
    let appended = conn
        .prepare_cached(
            "INSERT INTO card_events (id, organization_id, card_id, previous_seq, action, actor_type, actor_id, \
             from_status, to_status, changes, request_id, at) \
             SELECT ?1, c.organization_id, c.id, c.last_event_seq, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 \
             FROM cards c WHERE c.id = ?2",
        )
        .and_then(|mut s| {
            s.execute(params![
                event.id.to_string(),
                event.card_id.to_string(),
                event.action,
                event.actor.kind.as_str(),
                event.actor.id.map(|i| i.to_string()),
                event.from_status.map(|s| s.as_str()),
                event.to_status.as_str(),
                event.changes.to_string(),
                event.request_id,
                seconds(event.at),
            ])
        })
        .map_err(sql)?;
    if appended == 0 {
        return Err(StoreError::Conflict("an audit event names a card that does not exist".into()));
    }
    Ok(conn.last_insert_rowid())
}

/// The newest `newest` of the card's events (all without), oldest first, if the card is the
/// organization's. The walk starts from the newest, so a limit keeps the latest.
pub(crate) fn history(conn: &Connection, org: Uuid, card: Uuid, newest: Option<u32>) -> StoreResult<Vec<AuditEvent>> {
    let limit = newest.map_or(-1, i64::from);
    let mut events: Vec<AuditEvent> = conn
        .prepare_cached(CARD_EVENTS_NEWEST_FIRST)
        .and_then(|mut s| {
            s.query_map(params![card.to_string(), org.to_string(), limit], |r| {
                let actor_type: String = r.get(3)?;
                let actor_id: Option<String> = r.get(4)?;
                let from: Option<String> = r.get(5)?;
                let to: String = r.get(6)?;
                let changes: String = r.get(7)?;
                Ok(AuditEvent {
                    id: uuid(r.get(0)?)?,
                    card_id: uuid(r.get(1)?)?,
                    action: r.get(2)?,
                    actor: Actor {
                        kind: ActorKind::parse(&actor_type).unwrap_or(ActorKind::System),
                        id: actor_id.map(uuid).transpose()?,
                    },
                    from_status: from.as_deref().map(status_from).transpose()?,
                    to_status: status_from(&to)?,
                    changes: serde_json::from_str(&changes).unwrap_or(serde_json::Value::Null),
                    request_id: r.get(8)?,
                    at: timestamp(r.get(9)?)?,
                })
            })?
            .collect()
        })
        .map_err(sql)?;
    events.reverse();
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A card's history walks its chain by primary key, whatever the limit: never the whole
    /// table in `seq` order, which a plan that avoids sorting a short result would pick.
    #[test]
    fn a_cards_history_reads_only_its_own_events() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::migrations::migrate(&mut conn).unwrap();
        crate::engine::configure_statements(&conn).unwrap();
        for limit in [-1, 20] {
            let mut explain = conn.prepare(&format!("EXPLAIN QUERY PLAN {CARD_EVENTS_NEWEST_FIRST}")).unwrap();
            let steps = explain.query_map(params!["card", "org", limit], |r| r.get::<_, String>(3)).unwrap();
            let plan = steps.map(Result::unwrap).collect::<Vec<_>>().join("; ");
            assert!(!plan.contains("SCAN e"), "limit {limit}: the events are scanned: {plan}");
            let lookups = plan.matches("SEARCH e USING INTEGER PRIMARY KEY (rowid=?)").count();
            assert_eq!(lookups, 2, "the newest event, then each one before it: {plan}");
        }
    }
}
