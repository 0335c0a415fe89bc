"""calcwire's shared runtime: values, the workbook model and reader, configuration,
logging, database, messaging, errors, server bootstrap, generated API stubs and
the command-line client. The four services import it; it imports none of them.
"""
