// `require('iotsec/mqtt').Mqtt`, as `require('azure-iot-device-mqtt').Mqtt`.
export { Mqtt } from './index'
