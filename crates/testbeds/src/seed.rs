//! `POST /_testbed/seed`: accounts that exist in the application before Entra ever calls,
//! as in every real customer's directory, made straight in the testbed's state (no native
//! call per account), so that a test can face a directory of real size at once.
//!
//! `{"users": 50000, "groups": 2000, "members_per_group": 25, "large_group": 50000}` adds
//! users `seed{i}@example.com` (given name `Seed`, family name `User{i}`, external id
//! `seed-{i}`), groups `Seed Group {j}` of `members_per_group` users each (group `j` holds
//! users `j·m … j·m+m-1`, wrapping), and one group `Seed Large Group` holding the first
//! `large_group` users. Targets without groups take the users only. Seeding again adds more
//! with the numbering continued.

use serde::Deserialize;

/// What to add; every field defaults to 0.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Seed {
    pub users: usize,
    pub groups: usize,
    pub members_per_group: usize,
    pub large_group: usize,
}

/// One seeded account, in the terms every target has.
pub(crate) struct SeedUser {
    pub email: String,
    pub given: &'static str,
    pub family: String,
    pub external_id: String,
}

impl Seed {
    /// The `i`-th seeded user (numbering continues past earlier seeds: `first` onward).
    pub fn user(i: usize) -> SeedUser {
        SeedUser {
            email: format!("seed{i}@example.com"),
            given: "Seed",
            family: format!("User{i}"),
            external_id: format!("seed-{i}"),
        }
    }

    /// Each group to add, by name, with the positions (among the users this seed adds) of
    /// its members.
    pub fn groups(&self, first_group: usize) -> Vec<(String, Vec<usize>)> {
        let mut groups = Vec::new();
        if self.users == 0 {
            return groups;
        }
        for j in 0..self.groups {
            let members = (0..self.members_per_group)
                .map(|m| (j * self.members_per_group + m) % self.users)
                .collect();
            groups.push((format!("Seed Group {}", first_group + j), members));
        }
        if self.large_group > 0 {
            let members = (0..self.large_group.min(self.users)).collect();
            groups.push(("Seed Large Group".to_string(), members));
        }
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_wrap_around_the_users_and_the_large_group_takes_the_first() {
        let seed = Seed {
            users: 10,
            groups: 3,
            members_per_group: 4,
            large_group: 6,
        };
        let groups = seed.groups(0);
        assert_eq!(groups.len(), 4);
        assert_eq!(groups[2], ("Seed Group 2".to_string(), vec![8, 9, 0, 1]));
        assert_eq!(groups[3].1, (0..6).collect::<Vec<_>>());
        assert_eq!(Seed::user(7).email, "seed7@example.com");
    }
}
