//! Accounts and the store of all accounts: who may call the API, and the data each
//! API key's account holds.

use std::collections::{HashMap, HashSet};

use crate::clock::Timestamp;
use crate::demo;
use crate::ids;
use crate::records::{AnomalyRecord, AuditRecord, GrantRecord};
use crate::rules;

/// One API key's data. Accounts never see each other's data.
#[derive(Debug, Default)]
pub(crate) struct Account {
    pub audit: Vec<AuditRecord>,
    pub grants: Vec<GrantRecord>,
    pub anomalies: Vec<AnomalyRecord>,
    /// Demo activity is regenerated relative to the clock at every detection run
    /// (see `demo.rs`), so that a long-running demo server never goes stale.
    demo_activity: bool,
    /// The `seq` of the last anomaly stored.
    last_seq: u64,
}

impl Account {
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

    /// Turns on the demo activity and stores the documentation example's anomaly
    /// (once).
    pub fn seed_demo(&mut self, now: Timestamp) {
        self.demo_activity = true;
        if !self
            .anomalies
            .iter()
            .any(|a| a.id == demo::DOC_EXAMPLE_ANOMALY_ID)
        {
            let seq = self.next_seq();
            self.anomalies.push(demo::doc_example_anomaly(seq, now));
        }
    }

    /// Runs detection: unacknowledged anomalies are replaced by the new findings (new
    /// ids); acknowledged ones stay. Returns the new anomalies in rule order.
    pub fn detect(&mut self, now: Timestamp) -> Vec<AnomalyRecord> {
        let demo = if self.demo_activity {
            demo::activity(now)
        } else {
            demo::DemoActivity::default()
        };
        let audit: Vec<&AuditRecord> = self.audit.iter().chain(&demo.audit).collect();
        let grants: Vec<&GrantRecord> = self.grants.iter().chain(&demo.grants).collect();
        let findings = rules::detect(&audit, &grants, now);
        self.anomalies.retain(|a| a.acknowledged_at.is_some());
        let fresh: Vec<AnomalyRecord> = findings
            .into_iter()
            .map(|finding| AnomalyRecord {
                seq: self.next_seq(),
                id: ids::ulid("anm_", now),
                finding,
                detected_at: now,
                acknowledged_at: None,
            })
            .collect();
        self.anomalies.extend(fresh.iter().cloned());
        fresh
    }

    fn next_seq(&mut self) -> u64 {
        self.last_seq += 1;
        self.last_seq
    }
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
}

impl Store {
    pub fn new(
        keys: impl IntoIterator<Item = String>,
        accept_any_key: bool,
        seed_demo_on_first_use: bool,
    ) -> Self {
        Store {
            known_keys: keys.into_iter().collect(),
            accounts: HashMap::new(),
            accept_any_key,
            seed_demo_on_first_use,
        }
    }

    pub fn add_key(&mut self, key: String) {
        self.known_keys.insert(key);
    }

    /// Whether `key` may call the API (creating its account on first use).
    pub fn authenticate(&mut self, key: &str, now: Timestamp) -> bool {
        if key.is_empty() || !(self.accept_any_key || self.known_keys.contains(key)) {
            return false;
        }
        self.account(key, now);
        true
    }

    /// The account of `key`, created (and, in demo mode, seeded) on first use. The key
    /// becomes a known key.
    pub fn account(&mut self, key: &str, now: Timestamp) -> &mut Account {
        if !self.accounts.contains_key(key) {
            self.known_keys.insert(key.to_owned());
            let mut account = Account::default();
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
