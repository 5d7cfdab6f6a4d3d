"""Infrastructure: the database engine and units of work, migrations, evidence storage and
in-process wake-up signals. They know nothing of the rules; the domain uses them."""
