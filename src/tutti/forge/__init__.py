"""Clients for forges and trackers (GitHub today; Linear and Jira through `tutti.forge.http`)."""
