//! Accounts and the store of all accounts: who may call the API, and the data each
//! API key's account holds.

use std::collections::{HashMap, HashSet};

use crate::clock::Timestamp;
use crate::demo;
use crate::ids;
use crate::records::{
    AnomalyRecord, AuditRecord, ChannelRecord, GrantRecord, ResponseMode, RuleRecord,
};
use crate::rules;

/// One API key's data. Accounts never see each other's data.
#[derive(Debug, Default)]
pub(crate) struct Account {
    pub audit: Vec<AuditRecord>,
    pub grants: Vec<GrantRecord>,
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
        let fresh: Vec<AnomalyRecord> = findings
            .into_iter()
            .map(|finding| {
                AnomalyRecord::detected(self.next_seq(), ids::ulid("anm_", now), finding, now)
            })
            .collect();
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
                for grant in self
                    .grants
                    .iter_mut()
                    .filter(|g| g.agent_id == agent && g.revoked_at.is_none())
                {
                    grant.revoked_at = Some(now);
                    auto_revoked_grants += 1;
                }
            }
        }
        Detection {
            anomalies: fresh,
            auto_revoked_grants,
            response_mode: self.response_mode,
        }
    }

    /// A fresh insertion number (anomalies, rules and channels share the counter).
    pub fn next_seq(&mut self) -> u64 {
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
