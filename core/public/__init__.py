"""What is shown without a staff login: the public board (公示栏) and the resident's own view
behind the card link."""
