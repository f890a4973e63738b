//! Accounts and the store of all accounts: who may call the API, and the data each
//! API key's account holds, within the account's [`StorageLimits`].

use std::collections::{HashMap, HashSet, VecDeque};

use crate::clock::Timestamp;
use crate::demo;
use crate::ids;
use crate::records::{
    AnomalyRecord, AuditRecord, ChannelRecord, GrantRecord, ResponseMode, RuleRecord, StoredSize,
};
use crate::rules;

/// How much one account keeps, so that a test (or a runaway client) cannot make the
/// server grow without bound. Two kinds of data, two policies:
///
/// - logs the server records as they come (audit entries, grants) and the anomalies
///   detection derives from them: beyond a limit, the **earliest recorded are
///   dropped**. Detection reads recent activity, so the newest entries are the ones
///   that matter, and a long-running or busy server keeps working;
/// - configuration a client creates one by one (custom rules, notification channels):
///   beyond a limit, creating one more is **refused** with 413 `PAYLOAD_TOO_LARGE`
///   (`{"message", "code", "requestId"}`), because silently dropping a rule or a channel
///   someone created would change what the account does; deleting one makes room.
///
/// Each collection has a count and a byte budget ([`collection_bytes`](Self::collection_bytes),
/// the size of its text: ids, names, metadata, conditions, configs, notes). The 1 MiB
/// request body limit bounds what one request stores, and a fixture's `repeat` may not
/// expand past the audit limits. An audit entry or grant recorded in-process
/// ([`TestServer::record_audit`](crate::TestServer::record_audit)) is always kept, even
/// when it alone is larger than the budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorageLimits {
    /// Audit entries kept; beyond, the earliest recorded are dropped. Default 100,000
    /// (the largest `repeat` of a fixture).
    pub audit_entries: usize,
    /// Grants kept; beyond, the earliest recorded are dropped. Default 100,000.
    pub grants: usize,
    /// Anomalies kept. A detection run stores (and reports) at most this many new
    /// ones; the earliest stored acknowledged anomalies are dropped to make room for
    /// them. Default 10,000.
    pub anomalies: usize,
    /// Custom rules; creating one more answers 413. Default 1,000.
    pub rules: usize,
    /// Notification channels; creating one more answers 413. Default 1,000.
    pub channels: usize,
    /// Bytes each of the collections above may hold, roughly. Default 32 MiB (so at
    /// most about 160 MiB per account).
    pub collection_bytes: usize,
    /// Accounts per server (not per account): a request with a key that would open one
    /// more (any new key in demo mode), or `POST /v1/test/keys` with one more key,
    /// answers 413. Keys added in-process are not limited. Default 10,000.
    pub accounts: usize,
}

impl Default for StorageLimits {
    fn default() -> Self {
        StorageLimits {
            audit_entries: 100_000,
            grants: 100_000,
            anomalies: 10_000,
            rules: 1_000,
            channels: 1_000,
            collection_bytes: 32 << 20,
            accounts: 10_000,
        }
    }
}

/// Why a rule, channel or note was not stored: the 413 message.
#[derive(Debug)]
pub(crate) struct StorageFull(pub String);

/// Records kept newest last, within a count and a byte budget: beyond either, the
/// earliest are dropped (the newest is always kept).
#[derive(Debug)]
pub(crate) struct Log<T> {
    items: VecDeque<T>,
    bytes: usize,
}

impl<T> Default for Log<T> {
    fn default() -> Self {
        Log {
            items: VecDeque::new(),
            bytes: 0,
        }
    }
}

impl<T: StoredSize> Log<T> {
    /// Appends `item`, dropping the earliest beyond `max_items` or `max_bytes`.
    fn push(&mut self, item: T, max_items: usize, max_bytes: usize) {
        self.bytes += item.stored_size();
        self.items.push_back(item);
        while self.items.len() > 1 && (self.items.len() > max_items || self.bytes > max_bytes) {
            if let Some(dropped) = self.items.pop_front() {
                self.bytes -= dropped.stored_size();
            }
        }
    }

    pub fn iter(&self) -> std::collections::vec_deque::Iter<'_, T> {
        self.items.iter()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Mutable access that cannot change sizes (`f` sees each record in turn).
    fn for_each_mut(&mut self, f: impl FnMut(&mut T)) {
        self.items.iter_mut().for_each(f);
    }
}

/// One API key's data. Accounts never see each other's data.
#[derive(Debug, Default)]
pub(crate) struct Account {
    /// Read-only outside: recorded through [`Account::record_audit`].
    pub audit: Log<AuditRecord>,
    /// Read-only outside: recorded through [`Account::record_grant`].
    pub grants: Log<GrantRecord>,
    /// In storage order (detection appends); trimmed by [`Account::detect`].
    pub anomalies: Vec<AnomalyRecord>,
    /// Custom detection rules (stored only).
    pub rules: Vec<RuleRecord>,
    /// Notification channels (stored only).
    pub channels: Vec<ChannelRecord>,
    /// What detection does to the grants of agents with high or critical anomalies.
    pub response_mode: ResponseMode,
    /// Demo activity is regenerated relative to the clock at every detection run
    /// (see `demo.rs`), so that a long-running demo server never goes stale.
    demo_activity: bool,
    /// The `seq` of the last anomaly, rule or channel stored.
    last_seq: u64,
    limits: StorageLimits,
}

/// What a detection run did.
#[derive(Debug)]
pub(crate) struct Detection {
    /// The new anomalies, in rule order.
    pub anomalies: Vec<AnomalyRecord>,
    /// How many grants it revoked.
    pub auto_revoked_grants: usize,
    /// The account's response mode during the run.
    pub response_mode: ResponseMode,
}

impl Account {
    /// The limits this account stores within.
    pub fn limits(&self) -> &StorageLimits {
        &self.limits
    }

    /// Records an audit entry, dropping the earliest beyond the limits.
    pub fn record_audit(&mut self, record: AuditRecord) {
        let limits = self.limits;
        self.audit
            .push(record, limits.audit_entries, limits.collection_bytes);
    }

    /// Records a grant, dropping the earliest beyond the limits.
    pub fn record_grant(&mut self, record: GrantRecord) {
        let limits = self.limits;
        self.grants
            .push(record, limits.grants, limits.collection_bytes);
    }

    /// Whether one more custom rule of `size` bytes fits.
    pub fn room_for_rule(&self, size: usize) -> Result<(), StorageFull> {
        room(
            "custom rules",
            self.rules.iter().map(StoredSize::stored_size),
            size,
            self.limits.rules,
            self.limits.collection_bytes,
        )
    }

    /// Whether one more channel of `size` bytes fits.
    pub fn room_for_channel(&self, size: usize) -> Result<(), StorageFull> {
        room(
            "notification channels",
            self.channels.iter().map(StoredSize::stored_size),
            size,
            self.limits.channels,
            self.limits.collection_bytes,
        )
    }

    /// Whether the anomalies stay within the byte budget when one of them grows by
    /// `extra` bytes (an alert note).
    pub fn room_for_note(&self, extra: usize) -> Result<(), StorageFull> {
        if extra == 0 {
            return Ok(());
        }
        let bytes: usize = self.anomalies.iter().map(StoredSize::stored_size).sum();
        if bytes + extra > self.limits.collection_bytes {
            return Err(StorageFull(format!(
                "Alert note too large: the local server keeps at most {} bytes of anomalies per account",
                self.limits.collection_bytes
            )));
        }
        Ok(())
    }

    /// Anomalies newest `detected_at` first (later insertions first on ties).
    pub fn anomalies_newest_first(&self, unacknowledged_only: bool) -> Vec<&AnomalyRecord> {
        let mut list: Vec<&AnomalyRecord> = self
            .anomalies
            .iter()
            .filter(|a| !unacknowledged_only || a.acknowledged_at.is_none())
            .collect();
        list.sort_by_key(|a| std::cmp::Reverse((a.detected_at, a.seq)));
        list
    }

    /// Custom rules newest `created_at` first (later creations first on ties), as the
    /// hosted server lists them.
    pub fn rules_newest_first(&self) -> Vec<&RuleRecord> {
        let mut list: Vec<&RuleRecord> = self.rules.iter().collect();
        list.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.seq)));
        list
    }

    /// Channels newest `created_at` first (later creations first on ties).
    pub fn channels_newest_first(&self) -> Vec<&ChannelRecord> {
        let mut list: Vec<&ChannelRecord> = self.channels.iter().collect();
        list.sort_by_key(|c| std::cmp::Reverse((c.created_at, c.seq)));
        list
    }

    /// Turns on the demo activity and stores the documentation examples' anomaly and
    /// custom rule (once each).
    pub fn seed_demo(&mut self, now: Timestamp) {
        self.demo_activity = true;
        if !self
            .anomalies
            .iter()
            .any(|a| a.id == demo::DOC_EXAMPLE_ANOMALY_ID)
        {
            let seq = self.next_seq();
            self.make_room_for_anomalies(1, 0);
            self.anomalies.push(demo::doc_example_anomaly(seq, now));
        }
        if !self.rules.iter().any(|r| r.id == demo::DOC_EXAMPLE_RULE_ID) {
            let seq = self.next_seq();
            self.rules.push(demo::doc_example_rule(seq, now));
        }
    }

    /// Runs detection: unacknowledged anomalies are replaced by the new findings (new
    /// ids); acknowledged ones stay (whatever their alert status). In
    /// `revoke_agent_grants` mode, the active grants of every agent with a high or
    /// critical new anomaly are then revoked.
    pub fn detect(&mut self, now: Timestamp) -> Detection {
        let demo = if self.demo_activity {
            demo::activity(now)
        } else {
            demo::DemoActivity::default()
        };
        let audit: Vec<&AuditRecord> = self.audit.iter().chain(&demo.audit).collect();
        let grants: Vec<&GrantRecord> = self.grants.iter().chain(&demo.grants).collect();
        let findings = rules::detect(&audit, &grants, now);
        self.anomalies.retain(|a| a.acknowledged_at.is_some());
        // At most as many new anomalies as the limits allow, the first in rule order.
        let limits = self.limits;
        let mut fresh_bytes = 0;
        let fresh: Vec<AnomalyRecord> = findings
            .into_iter()
            .take(limits.anomalies)
            .map(|finding| {
                AnomalyRecord::detected(self.next_seq(), ids::ulid("anm_", now), finding, now)
            })
            .take_while(|anomaly| {
                fresh_bytes += anomaly.stored_size();
                fresh_bytes <= limits.collection_bytes
            })
            .collect();
        let fresh_bytes: usize = fresh.iter().map(StoredSize::stored_size).sum();
        self.make_room_for_anomalies(fresh.len(), fresh_bytes);
        self.anomalies.extend(fresh.iter().cloned());
        let mut auto_revoked_grants = 0;
        if self.response_mode == ResponseMode::RevokeAgentGrants {
            for anomaly in &fresh {
                if !matches!(anomaly.finding.severity, "high" | "critical") {
                    continue;
                }
                let Some(agent) = anomaly.finding.agent_id.as_deref() else {
                    continue;
                };
                self.grants.for_each_mut(|grant| {
                    if grant.agent_id == agent && grant.revoked_at.is_none() {
                        grant.revoked_at = Some(now);
                        auto_revoked_grants += 1;
                    }
                });
            }
        }
        Detection {
            anomalies: fresh,
            auto_revoked_grants,
            response_mode: self.response_mode,
        }
    }

    /// Drops the earliest stored anomalies until `count` more of `bytes` fit.
    fn make_room_for_anomalies(&mut self, count: usize, bytes: usize) {
        let limits = self.limits;
        let mut stored: usize = self.anomalies.iter().map(StoredSize::stored_size).sum();
        let mut drop = 0;
        for anomaly in &self.anomalies {
            if self.anomalies.len() - drop + count <= limits.anomalies
                && stored + bytes <= limits.collection_bytes
            {
                break;
            }
            stored -= anomaly.stored_size();
            drop += 1;
        }
        self.anomalies.drain(..drop);
    }

    /// A fresh insertion number (anomalies, rules and channels share the counter).
    pub fn next_seq(&mut self) -> u64 {
        self.last_seq += 1;
        self.last_seq
    }
}

/// Whether one more item of `size` bytes fits in a collection of `sizes`.
fn room(
    what: &str,
    sizes: impl ExactSizeIterator<Item = usize>,
    size: usize,
    max_items: usize,
    max_bytes: usize,
) -> Result<(), StorageFull> {
    if sizes.len() >= max_items {
        return Err(StorageFull(format!(
            "Too many {what}: the local server keeps at most {max_items} per account; delete one first"
        )));
    }
    if sizes.sum::<usize>() + size > max_bytes {
        return Err(StorageFull(format!(
            "{} too large: the local server keeps at most {max_bytes} bytes of them per account",
            capitalized(what)
        )));
    }
    Ok(())
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Whether a key may call the API.
pub(crate) enum Admission {
    /// Yes: its account exists now.
    Account,
    /// Not a known key (and not demo mode).
    Unknown,
    /// A new account would exceed [`StorageLimits::accounts`].
    Full(StorageFull),
}

/// Who may call the API, and every account's data.
#[derive(Debug)]
pub(crate) struct Store {
    known_keys: HashSet<String>,
    accounts: HashMap<String, Account>,
    /// Any non-empty key is accepted and becomes its own account.
    accept_any_key: bool,
    /// New accounts get the demo seed on first use.
    seed_demo_on_first_use: bool,
    /// What each account may store.
    limits: StorageLimits,
}

impl Store {
    pub fn new(
        keys: impl IntoIterator<Item = String>,
        accept_any_key: bool,
        seed_demo_on_first_use: bool,
        limits: StorageLimits,
    ) -> Self {
        Store {
            known_keys: keys.into_iter().collect(),
            accounts: HashMap::new(),
            accept_any_key,
            seed_demo_on_first_use,
            limits,
        }
    }

    pub fn add_key(&mut self, key: String) {
        self.known_keys.insert(key);
    }

    /// Whether `key` may call the API (creating its account on first use).
    pub fn authenticate(&mut self, key: &str, now: Timestamp) -> Admission {
        if key.is_empty() || !(self.accept_any_key || self.known_keys.contains(key)) {
            return Admission::Unknown;
        }
        if !self.accounts.contains_key(key) && self.accounts.len() >= self.limits.accounts {
            return Admission::Full(StorageFull(format!(
                "Too many accounts: the local server keeps at most {}",
                self.limits.accounts
            )));
        }
        self.account(key, now);
        Admission::Account
    }

    /// [`add_key`](Self::add_key) over HTTP: refused when the server already knows as
    /// many keys as it may hold accounts.
    pub fn add_key_within_limits(&mut self, key: &str) -> Result<(), StorageFull> {
        if !self.known_keys.contains(key) && self.known_keys.len() >= self.limits.accounts {
            return Err(StorageFull(format!(
                "Too many API keys: the local server keeps at most {}",
                self.limits.accounts
            )));
        }
        self.known_keys.insert(key.to_owned());
        Ok(())
    }

    /// The account of `key`, created (and, in demo mode, seeded) on first use. The key
    /// becomes a known key.
    pub fn account(&mut self, key: &str, now: Timestamp) -> &mut Account {
        if !self.accounts.contains_key(key) {
            self.known_keys.insert(key.to_owned());
            let mut account = Account {
                limits: self.limits,
                ..Account::default()
            };
            if self.seed_demo_on_first_use {
                account.seed_demo(now);
            }
            self.accounts.insert(key.to_owned(), account);
        }
        self.accounts
            .get_mut(key)
            .expect("account was just ensured")
    }

    /// A read-only view of an existing account.
    pub fn existing(&self, key: &str) -> Option<&Account> {
        self.accounts.get(key)
    }
}
