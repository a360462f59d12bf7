package scripted

// DummyAPIKey is the API key to give a CLI that talks to a ModelServer.
// The server accepts any key; this one only has the shape of a real one.
const DummyAPIKey = "sk-ant-api03-scripted-dummy-key-000000000000"
