"""The village itself: households and residents (roster import, one household's account),
cards, the rules catalogue, staff accounts, first set-up and starting catalogues."""
